"""``/metrics``, ``/healthz`` and ``/readyz`` on one small threaded WSGI server that no client can hold.

It answers GET (and HEAD) on those paths only; a request with a body is refused. A probe must get its
answer whatever other clients do, so:

- **a deadline per connection**: the request and its answer together get ``request_timeout`` seconds
  from the accept. Every read of the socket waits at most what is left (a client that sends one header
  byte every second never resets it, as it would reset a per-read timeout), and so does the answer
  (``sendall`` with a timeout bounds the whole send).
- **a bound on connections that cannot starve the probes**: at most ``MAX_CONNECTIONS`` are served at
  once; one more does not wait or get refused: it evicts the oldest connection still sending its
  request (else the oldest one), which is shut down at once. Slow or idle clients only ever push each
  other out.

One request per connection (HTTP/1.0, as wsgiref serves).
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn, _SocketWriter  # type: ignore[attr-defined]
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from prometheus_client import CollectorRegistry, make_wsgi_app

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]


MAX_CONNECTIONS = 64


@dataclass
class _Connection:
    sock: socket.socket
    deadline: float
    monotonic: Callable[[], float]
    reading: bool = True
    """Still sending its request: the first to go when the server is full."""


class _Connections:
    """The connections being served, and which one goes when one more arrives."""

    def __init__(self, limit: int, monotonic: Callable[[], float]) -> None:
        self.limit = limit
        self.monotonic = monotonic
        self._open: dict[int, _Connection] = {}
        self._lock = threading.Lock()
        self.evicted = 0

    def admit(self, sock: socket.socket, timeout: float) -> _Connection:
        connection = _Connection(sock, self.monotonic() + timeout, self.monotonic)
        with self._lock:
            victim = self._victim() if len(self._open) >= self.limit else None
            self._open[id(sock)] = connection
        if victim is not None:
            self.evicted += 1
            log.debug("http: %d connections open, cutting the oldest slow one", self.limit)
            _shut(victim.sock)
        return connection

    def leave(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.pop(id(sock), None)

    def _victim(self) -> _Connection | None:
        """The oldest connection still reading its request, else the oldest one (called with the lock held)."""
        readers = [c for c in self._open.values() if c.reading]
        pool = readers or list(self._open.values())
        victim = min(pool, key=lambda c: c.deadline, default=None)
        if victim is not None:
            self._open.pop(id(victim.sock), None)
        return victim


def _shut(sock: socket.socket) -> None:
    """Ends the connection now: a thread blocked in ``recv`` on it returns at once."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _DeadlineReader(io.RawIOBase):
    """The socket as a raw stream whose every ``recv`` waits at most what is left of the deadline."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._connection.deadline - self._connection.monotonic()
        if left <= 0:
            raise TimeoutError("the request took longer than the server's request timeout")
        self._connection.sock.settimeout(left)
        return self._connection.sock.recv_into(buffer)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    request_timeout = 10.0

    connections: _Connections

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stalls, hangs up or is evicted is routine for a server; not worth a traceback.
        log.debug("http: request from %s failed", client_address[0], exc_info=True)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.leave(request)


class _QuietHandler(WSGIRequestHandler):
    server: _ThreadingServer

    def setup(self) -> None:
        self.connection = self.request
        self.tracked = self.server.connections.admit(self.request, self.server.request_timeout)
        self.rfile = io.BufferedReader(_DeadlineReader(self.tracked))
        self.wfile = _SocketWriter(self.connection)

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        # The request is in: the answer gets what is left of the deadline, for the whole send.
        self.tracked.reading = False
        self.connection.settimeout(max(0.001, self.tracked.deadline - self.tracked.monotonic()))
        return parsed

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


def make_app(registry: CollectorRegistry, health: Check, ready: Check) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)
    routes = {"/healthz": health, "/readyz": ready}

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        refusal = _refuse(environ)
        if refusal is not None:
            status, headers, body = refusal
            start_response(status, [("Content-Type", "text/plain; charset=utf-8"), *headers])
            return [body]
        if path == "/metrics":
            return metrics(environ, start_response)  # type: ignore[no-any-return]
        if path in routes:
            ok, message = routes[path]()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [message.encode() + b"\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found: try /metrics, /healthz or /readyz\n"]

    return app


def _refuse(environ: WSGIEnvironment) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """Anything but a body-less GET or HEAD is refused before it reaches a handler."""
    if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
        return "405 Method Not Allowed", [("Allow", "GET, HEAD")], b"only GET and HEAD are served\n"
    if environ.get("CONTENT_LENGTH") not in {None, "", "0"} or environ.get("HTTP_TRANSFER_ENCODING"):
        return "413 Content Too Large", [], b"requests carry no body here\n"
    return None


class HttpServer:
    """Serves the WSGI app in a background thread: ``start()``, then ``stop()``."""

    def __init__(
        self, host: str, port: int, app: Callable[..., Iterable[bytes]], *, monotonic: Callable[[], float],
        request_timeout: float = 10.0,
    ) -> None:  # fmt: skip
        self._server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self._server.request_timeout = request_timeout
        self._server.connections = _Connections(MAX_CONNECTIONS, monotonic)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

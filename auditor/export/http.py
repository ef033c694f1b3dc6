"""``/metrics``, ``/healthz`` and ``/readyz`` on one small threaded WSGI server.

It answers GET (and HEAD) on those paths only; a request with a body is refused, a client slower
than ``request_timeout`` is cut off, and at most ``MAX_CONNECTIONS`` are served at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

log = logging.getLogger(__name__)

Check = Callable[[], tuple[bool, str]]
StartResponse = Callable[..., Any]


MAX_CONNECTIONS = 16


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    request_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            log.warning("http: %d connections already open, refusing %s", MAX_CONNECTIONS, client_address[0])
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stalls or hangs up is routine for a server; not worth a traceback on stderr.
        log.debug("http: request from %s failed", client_address[0], exc_info=True)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _QuietHandler(WSGIRequestHandler):
    server: _ThreadingServer

    def setup(self) -> None:
        super().setup()
        # A client slower than this (a stalled or deliberately slow request) is cut off.
        self.connection.settimeout(self.server.request_timeout)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


def make_app(registry: CollectorRegistry, health: Check, ready: Check) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry)
    routes = {"/healthz": health, "/readyz": ready}

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
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


def _refuse(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
    """Anything but a body-less GET or HEAD is refused before it reaches a handler."""
    if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
        return "405 Method Not Allowed", [("Allow", "GET, HEAD")], b"only GET and HEAD are served\n"
    if environ.get("CONTENT_LENGTH") not in {None, "", "0"} or environ.get("HTTP_TRANSFER_ENCODING"):
        return "413 Content Too Large", [], b"requests carry no body here\n"
    return None


class HttpServer:
    """Serves the WSGI app in a background thread: ``start()``, then ``stop()``."""

    def __init__(
        self, host: str, port: int, app: Callable[..., Iterable[bytes]], request_timeout: float = 10.0
    ) -> None:
        self._server = make_server(host, port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
        self._server.request_timeout = request_timeout
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

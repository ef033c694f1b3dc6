"""Fault-injecting proxies on loopback, in front of a real Prometheus or a real PostgreSQL.

TcpProxy: a byte pipe; ``down()`` resets every open connection and refuses new ones (a database
stopped), ``up()`` lets them through again (restarted).

TlsProxy: a TcpProxy that terminates TLS (a test CA, client certificates if the context asks).

HttpFaultProxy: one HTTP request per upstream connection; each request takes the next fault from a
queue the test fills (``push``), else passes through. Faults: ``delay`` (seconds, then pass),
``reset`` (connection closed without an answer), ``status`` (an HTTP error, optional headers and
body), ``garbage`` (200 with a body that is not JSON), ``truncate`` (the real answer cut short),
``drip`` (the real answer, headers and all, one byte every ``seconds``: no read ever times out).
``unused()`` lists faults never served, so a test fails when a prepared fault was not exercised.
``route(prefix, fault)`` answers every request whose path starts with ``prefix`` with that fault, until
``unroute()``: an endpoint a proxy or a Prometheus-compatible server does not serve.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def _reset(sock: socket.socket) -> None:
    """Close with RST, not FIN: what a crashed or killed peer looks like."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Listener:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._track(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)

    def reset_all(self) -> None:
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _reset(sock)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._server.close()
        self.reset_all()

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    for sock in (src, dst):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class TcpProxy(_Listener):
    def __init__(self, upstream: tuple[str, int]) -> None:
        self._down = threading.Event()
        super().__init__(upstream)

    def down(self) -> None:
        self._down.set()
        self.reset_all()

    def up(self) -> None:
        self._down.clear()

    def _serve(self, client: socket.socket) -> None:
        if self._down.is_set():
            _reset(client)
            return
        upstream = socket.create_connection(self.upstream)
        self._track(upstream)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)


class TlsProxy(TcpProxy):
    """TLS terminated here with ``context`` (which may require client certificates), plain to upstream."""

    def __init__(self, upstream: tuple[str, int], context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__(upstream)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _serve(self, client: socket.socket) -> None:
        try:
            secure = self._context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            _reset(client)  # a failed handshake: the client sees the alert, then the close
            return
        self._track(secure)
        super()._serve(secure)


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    keep: int = 0
    """``truncate``: bytes of the real answer sent before the connection is cut."""


def delay(seconds: float) -> Fault:
    return Fault("delay", seconds=seconds)


def reset() -> Fault:
    return Fault("reset")


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Fault:
    return Fault("status", status=code, body=body, headers=headers or {})


def garbage(body: bytes = b"<html><body>502 Bad Gateway</body></html>") -> Fault:
    return Fault("garbage", body=body)


def truncate(keep: int) -> Fault:
    return Fault("truncate", keep=keep)


def drip(seconds: float) -> Fault:
    return Fault("drip", seconds=seconds)


@contextlib.contextmanager
def in_front_of(url: str) -> Iterator[HttpFaultProxy]:
    """A fault proxy in front of the server at ``url`` (a real Prometheus), closed afterwards."""
    parts = urlsplit(url)
    proxy = HttpFaultProxy((parts.hostname or "127.0.0.1", parts.port or 80))
    try:
        yield proxy
    finally:
        proxy.close()


class HttpFaultProxy(_Listener):
    def __init__(self, upstream: tuple[str, int]) -> None:
        self._faults: deque[Fault] = deque()
        self._routes: dict[str, Fault] = {}
        self.served: list[tuple[str, str]] = []
        """(request line, fault kind or "pass"), in order."""
        super().__init__(upstream)

    def push(self, *faults: Fault) -> None:
        self._faults.extend(faults)

    def route(self, prefix: str, fault: Fault) -> None:
        with self._lock:
            self._routes[prefix] = fault

    def unroute(self) -> None:
        with self._lock:
            self._routes.clear()

    def unused(self) -> list[Fault]:
        return list(self._faults)

    def _next(self, request: bytes) -> Fault | None:
        path = request.split(b" ", 2)[1].decode(errors="replace") if request.count(b" ") >= 2 else ""
        with self._lock:
            routed = next((fault for prefix, fault in self._routes.items() if path.startswith(prefix)), None)
            if routed is not None:
                return routed
            return self._faults.popleft() if self._faults else None

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while request := _read_request(client):
                fault = self._next(request)
                with self._lock:
                    self.served.append((request.split(b"\r\n", 1)[0].decode(), fault.kind if fault else "pass"))
                if not self._answer(client, request, fault):
                    break
        _reset(client)

    def _answer(self, client: socket.socket, request: bytes, fault: Fault | None) -> bool:
        """Serve one request; False when the connection is to be cut."""
        if fault is not None and fault.kind == "reset":
            return False
        if fault is not None and fault.kind in {"status", "garbage"}:
            client.sendall(_response(fault.status, fault.headers, fault.body))
            return True
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        answer = self._forward(request)
        if fault is not None and fault.kind == "drip":
            for i in range(len(answer)):
                client.sendall(answer[i : i + 1])
                time.sleep(fault.seconds)
            return True
        if fault is not None and fault.kind == "truncate":
            client.sendall(answer[: fault.keep])
            return False
        client.sendall(answer)
        return True

    def _forward(self, request: bytes) -> bytes:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        with socket.create_connection(self.upstream) as upstream:
            upstream.sendall(request)
            raw = b"".join(iter(lambda: upstream.recv(65536), b""))
        return _keep_alive(raw)


def _read_request(client: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        body += client.recv(65536)
    return head + b"\r\n\r\n" + body


def _keep_alive(raw: bytes) -> bytes:
    """The upstream answer re-framed with Content-Length, so the client may keep its connection."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    kept = [line for line in lines[1:] if line.split(b":")[0].strip().lower() not in _HOP_HEADERS]
    if any(line.lower().startswith(b"transfer-encoding: chunked") for line in lines):
        body = _dechunk(body)
    return b"\r\n".join([lines[0], *kept, b"Content-Length: %d" % len(body)]) + b"\r\n\r\n" + body


_HOP_HEADERS = {b"connection", b"content-length", b"transfer-encoding", b"keep-alive"}


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


def _response(code: int, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {code} Fault", f"Content-Length: {len(body)}", "Content-Type: text/html"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@contextlib.contextmanager
def proxies(*listeners: _Listener) -> Iterator[None]:
    try:
        yield
    finally:
        for listener in listeners:
            listener.close()

"""One wall-clock deadline for every request of a cycle or a command, down to each read of the socket.

    deadline = CallDeadline(clock.monotonic)               # shared by the client and its connections
    http = httpx.Client(transport=deadline_transport(ssl_context, deadline))
    deadline.at = clock.monotonic() + 120                  # the cycle's AUDITOR_AUDIT_TIMEOUT

httpx's timeouts bound each socket operation, not a request: a server that sends one byte of a valid
answer every few seconds (or one header line at a time) never trips a read timeout, and the request
goes on past any deadline. Here each connect, read and write waits at most what is left of the
deadline, and none starts once it has passed (httpcore's ``ConnectTimeout``/``ReadTimeout``/
``WriteTimeout``, which httpx maps to its own): the request ends within the deadline, dripping or not.
"""

from __future__ import annotations

import ssl
import typing
from collections.abc import Callable, Iterable

import httpcore
import httpx


class CallDeadline:
    """The ``monotonic()`` time by which requests must be done; None: only the per-operation timeouts."""

    def __init__(self, monotonic: Callable[[], float], at: float | None = None) -> None:
        self.at = at
        self.monotonic = monotonic

    def remaining(self) -> float | None:
        return None if self.at is None else self.at - self.monotonic()

    def bound(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` shortened to what is left; ``error`` when nothing is."""
        left = self.remaining()
        if left is None:
            return timeout
        if left <= 0:
            raise error("the request ran past its deadline (AUDITOR_AUDIT_TIMEOUT)")
        return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: CallDeadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, bounded), self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, deadline: CallDeadline) -> None:
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_tcp(host, port, bounded, local_address, socket_options), self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        bounded = self._deadline.bound(timeout, httpcore.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, bounded, socket_options), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def deadline_transport(ssl_context: ssl.SSLContext, deadline: CallDeadline) -> httpx.HTTPTransport:
    """httpx's own transport (its error mapping and streaming), on connections that keep ``deadline``.

    httpx does not take a network backend; its connection pool does, so the pool is built here with the
    pool settings httpx uses by default. ``tests/test_hostile_servers.py`` fails if a release changes that.
    """
    transport = httpx.HTTPTransport(verify=ssl_context)
    limits = httpx.Limits()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_Backend(deadline),
    )
    return transport

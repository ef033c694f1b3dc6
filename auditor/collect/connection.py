"""How the auditor connects to Prometheus: the credentials (files re-read on every request), TLS, the one httpx
client with the User-Agent, timeouts and redirects (``build_http_client``)."""

from __future__ import annotations

import ssl
from collections.abc import Generator
from contextlib import suppress
from pathlib import Path

import httpx

from auditor import __version__
from auditor.collect.bounds import PrometheusAccess, TlsFiles
from auditor.collect.deadline import CallDeadline, deadline_transport
from auditor.config.files import MAX_SECRET_BYTES, read_text
from auditor.core.errors import (
    ConfigError,
)


class FileAuth(httpx.Auth):
    """Reads the secret file on every request, so rotated credentials are picked up without a restart."""

    def __init__(self, settings: PrometheusAccess) -> None:
        self._settings = settings

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._settings.bearer_token_file is not None:
            token = _read_secret(self._settings.bearer_token_file)
            _check_token(token, self._settings.bearer_token_file)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
        elif self._settings.basic_auth is not None:
            password = _read_secret(self._settings.basic_auth.password_file)
            yield from httpx.BasicAuth(self._settings.basic_auth.username, password).auth_flow(request)
        else:
            yield request

    def secrets(self) -> list[str]:
        """The credentials in force (read again): an error text that echoes one of them is redacted."""
        files = [
            self._settings.bearer_token_file,
            self._settings.basic_auth and self._settings.basic_auth.password_file,
        ]
        found = []
        for path in files:
            if isinstance(path, Path):
                with suppress(ConfigError):
                    found.append(_read_secret(path))
        return found


def _read_secret(path: Path) -> str:
    """A configuration error, not an unreachable Prometheus: retrying or opening the breaker cannot mend it."""
    hint = (
        "make it readable by the auditor, or point AUDITOR_PROMETHEUS__BEARER_TOKEN_FILE / "
        "AUDITOR_PROMETHEUS__BASIC_AUTH__PASSWORD_FILE at the right file"
    )
    try:
        return read_text(path, ConfigError, limit=MAX_SECRET_BYTES, what="credentials file").strip()
    except ConfigError as exc:
        raise ConfigError(f"{exc}: {hint}") from None


def _check_token(token: str, path: Path) -> None:
    """A token that cannot be a header value: said without the token (h11's own error would print it)."""
    if not token or any(not (" " < char < "\x7f") for char in token):
        raise ConfigError(
            f"credentials file {path}: the bearer token is empty, spans several lines or holds characters a "
            "header cannot carry: the file must hold the token alone, on one line"
        )


def build_http_client(
    base_url: str,
    settings: PrometheusAccess,
    transport: httpx.BaseTransport | None = None,
    deadline: CallDeadline | None = None,
) -> httpx.Client:
    """The one httpx client for Prometheus: auth, TLS and timeouts from the settings.

    Its connections keep ``deadline`` (the one the ``PrometheusClient`` over it sets), down to each read.
    """
    context = _ssl_context(settings.tls)
    if transport is None and deadline is not None:
        transport = deadline_transport(context, deadline)
    return httpx.Client(
        transport=transport,
        base_url=base_url,
        auth=FileAuth(settings),
        verify=context,
        timeout=settings.timeout.total_seconds(),
        headers={"User-Agent": f"metrics-auditor/{__version__}"},
        follow_redirects=True,
    )


def _ssl_context(tls: TlsFiles) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file is not None:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"TLS files (AUDITOR_PROMETHEUS__TLS__*): cannot use them: {exc}") from exc
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context

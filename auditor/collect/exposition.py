"""One scrape of an exporter's URL for ``plan``, bounded in bytes and (by the client) in time (docs/plan.md)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

import httpx

from auditor.core.errors import ConfigError
from auditor.core.exposition import OPENMETRICS


class Streams(Protocol):
    """What a scrape needs of an HTTP client (the one ``auditor.app.wiring.exposition_client`` builds)."""

    def stream(self, method: str, url: str, *, headers: dict[str, str]) -> AbstractContextManager[httpx.Response]: ...


def scrape_exposition(url: str, http: Streams, max_bytes: int) -> tuple[str, bool]:
    """The body, and whether it is OpenMetrics (by its content type)."""
    accept = f"{OPENMETRICS};version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4"
    try:
        with http.stream("GET", url, headers={"Accept": accept}) as response:
            if response.status_code != 200:
                raise ConfigError(f"--exposition {url}: HTTP {response.status_code}: is it the exporter's /metrics?")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ConfigError(f"--exposition {url}: more than {max_bytes:,} bytes "
                                      "(AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES)")  # fmt: skip
            return body.decode("utf-8", "replace"), response.headers.get("content-type", "").startswith(OPENMETRICS)
    except httpx.HTTPError as exc:
        raise ConfigError(f"--exposition {url}: {type(exc).__name__}: {exc}") from None

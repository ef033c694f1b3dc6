"""The name a source's history is stored under: ``AUDITOR_SOURCE``, else Prometheus' external labels or URL."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints, is_permanent
from auditor.core.errors import PrometheusError

log = logging.getLogger("auditor.app.cycle")


class SourceName:
    def __init__(
        self, configured: str | None, url_for_logs: str, prometheus: PrometheusClient, endpoints: OptionalEndpoints
    ) -> None:
        self._url = url_for_logs
        self._prometheus = prometheus
        self._endpoints = endpoints
        self.known: str | None = configured
        """Configured, or derived already; None until the first cycle asks."""

    def resolve(self) -> str:
        if self.known is not None:
            return self.known
        try:
            labels = self._prometheus.external_labels()
        except PrometheusError as exc:
            if not is_permanent(exc):
                raise  # a name from the URL now and from the labels later would split the history in two
            self._endpoints.failed(exc, "external labels: the source is named after the URL (set AUDITOR_SOURCE)")
            labels = {}
        else:
            self._endpoints.succeeded("/api/v1/status/config")
        self.known = derive_source(labels, self._url)
        log.info("source name: %s", self.known)
        return self.known


def derive_source(external_labels: dict[str, str], url: str) -> str:
    """``cluster=eu1,replica=a`` from external labels, else the URL's ``host:port``.

    >>> derive_source({}, "http://prometheus:9090/")
    'prometheus:9090'
    """
    if external_labels:
        return ",".join(f"{key}={value}" for key, value in sorted(external_labels.items()))
    parts = urlsplit(url)
    return (parts.netloc or url) + parts.path.rstrip("/")

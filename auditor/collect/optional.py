"""Requests a cycle can do without: their failure skips one feature for the cycle, never the census.

The rules API, the configuration (external labels, evaluation interval) and the drill-down's label
requests are optional: a proxy may answer 404 or 403 for them, a Prometheus-compatible server may not
have them, and a 5xx there must not cost the cycle its census. Failures are counted by endpoint and
reason (self-metrics) and logged once per change of an endpoint's state, not every cycle::

    endpoints = OptionalEndpoints()
    groups = endpoints.call("/api/v1/rules", client.rules)   # None when it failed; logged when its state changes
    endpoints.view()                                         # {("rules", "not_found"): 3}, {"rules": False}
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from auditor.core.domain import EndpointsView
from auditor.core.errors import PrometheusError, PrometheusHTTPError

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_ENDPOINT = re.compile(r"^/api/v1/(label)/[^/]+/(values)$")


def endpoint_of(path: str | None) -> str:
    """A bounded label for an API path: ``/api/v1/label/job/values`` -> ``label/values``.

    >>> endpoint_of("/api/v1/status/config"), endpoint_of("/api/v1/label/U__a_2e_b/values")
    ('status/config', 'label/values')
    """
    if path is None:
        return "unknown"
    label_values = _ENDPOINT.match(path)
    if label_values:
        return "/".join(label_values.groups())
    return path.removeprefix("/api/v1/")


def failure_reason(error: PrometheusError) -> str:
    """``not_found``, ``forbidden``, ``server_error``, or the error's own reason (timeout, bad_response, ...)."""
    if isinstance(error, PrometheusHTTPError):
        if error.status_code == 404:
            return "not_found"
        if error.status_code in (401, 403):
            return "forbidden"
        if error.status_code >= 500:
            return "server_error"
    return error.reason


def is_permanent(error: PrometheusError) -> bool:
    """The server does not serve this endpoint (404, 401/403, 405, 501): asking again next cycle will not help."""
    return isinstance(error, PrometheusHTTPError) and error.status_code in (401, 403, 404, 405, 501)


class OptionalEndpoints:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: Counter[tuple[str, str]] = Counter()
        self._state: dict[str, str] = {}
        """endpoint -> ``ok`` or the reason of its last failure."""

    def call(self, path: str, request: Callable[[], _T], feature: str = "") -> _T | None:
        """``request()`` (which asks ``path``), or None when Prometheus failed it (counted, logged on a change)."""
        try:
            value = request()
        except PrometheusError as exc:
            exc.path = exc.path or path
            self.failed(exc, feature)
            return None
        self.succeeded(path)
        return value

    def failed(self, error: PrometheusError, feature: str = "") -> None:
        endpoint, reason = endpoint_of(error.path), failure_reason(error)
        with self._lock:
            self._failures[(endpoint, reason)] += 1
            changed = self._state.get(endpoint) != reason
            self._state[endpoint] = reason
        if changed:
            skipped = f"; {feature} skipped until it answers" if feature else "; skipped until it answers"
            log.warning("%s: %s%s (logged once; counted in metrics_auditor_optional_request_failures_total)",
                        endpoint, error, skipped)  # fmt: skip

    def succeeded(self, path: str) -> None:
        endpoint = endpoint_of(path)
        with self._lock:
            previous = self._state.get(endpoint)
            self._state[endpoint] = "ok"
        if previous not in (None, "ok"):
            log.info("%s answers again", endpoint)

    def view(self) -> EndpointsView:
        with self._lock:
            return EndpointsView(dict(self._failures), {e: state == "ok" for e, state in self._state.items()})

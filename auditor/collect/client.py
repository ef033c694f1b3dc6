"""A typed client for the Prometheus HTTP APIs the auditor reads.

Every httpx and JSON error is translated here, once, into ``PrometheusError``::

    http = build_http_client(url, settings.prometheus, deadline=deadline)   # collect/connection.py
    prom = PrometheusClient(http, clock, deadline=deadline)
    prom.buildinfo().version                      # '2.42.0+ds'
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any, wait_random_exponential
from tenacity.stop import stop_base

from auditor.collect.answers import (
    BuildInfoData,
    ConfigData,
    Flags,
    Metadata,
    Rules,
    Strings,
    TsdbData,
    Vector,
    VictoriaTsdbData,
    as_dict,
    decode,
    loaded_group,
    read_capped,
    sample_value,
    victoria_status,
)
from auditor.collect.connection import FileAuth
from auditor.collect.deadline import CallDeadline
from auditor.config.yamlfile import parse_yaml
from auditor.core.domain import BuildInfo, Clock, HeadStats, LoadedRuleGroup, ServerKind, TsdbStatus
from auditor.core.durations import parse_duration
from auditor.core.errors import (
    PrometheusError,
    PrometheusHTTPError,
    PrometheusResponseError,
    PrometheusTimeout,
    PrometheusUnreachable,
)
from auditor.core.promql import label_path, tagged
from auditor.core.redact import redact, redact_url

_M = TypeVar("_M", bound=BaseModel)
log = logging.getLogger(__name__)


MAX_RETRY_AFTER = 60.0
"""The longest wait a ``Retry-After`` gets without a deadline (there is always one in a cycle or a command)."""


class PrometheusClient:
    """The Prometheus HTTP API, as far as the auditor uses it."""

    def __init__(
        self,
        http: httpx.Client,
        clock: Clock,
        retry: RetryPolicy | None = None,
        max_response_bytes: int = 64 * 2**20,
        deadline: CallDeadline | None = None,
    ) -> None:
        self._http = http
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._max_bytes = max_response_bytes
        self._deadline = deadline or CallDeadline(clock.monotonic)
        """Shared with the connections of ``http`` when it was built with it (``build_http_client``)."""
        self.requests = 0
        self.bytes_received = 0
        """Totals since creation: the drill-down bounds its share of them."""
        self.retries = 0

    @contextmanager
    def deadline(self, at_monotonic: float) -> Iterator[None]:
        """Every request, its retries and their waits end by this ``monotonic()`` value: the cycle's deadline."""
        previous = self._deadline.at
        self._deadline.at = at_monotonic if previous is None else min(previous, at_monotonic)
        try:
            yield
        finally:
            self._deadline.at = previous

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    @property
    def safe_url(self) -> str:
        """``base_url`` without userinfo or query: what output and errors may name."""
        return redact_url(self.base_url)

    def buildinfo(self) -> BuildInfo:
        data = self._validate("/api/v1/status/buildinfo", BuildInfoData, self._call("GET", "/api/v1/status/buildinfo"))
        return BuildInfo(version=data.version)

    def flags(self) -> dict[str, str]:
        """The server's command-line flags (``enable-feature`` says whether native histograms are stored)."""
        return self._validate("/api/v1/status/flags", Flags, self._call("GET", "/api/v1/status/flags")).root

    def metadata(self) -> dict[str, str]:
        """metric family -> its type, as its targets declare it (one entry per family)."""
        data = self._validate("/api/v1/metadata", Metadata, self._call("GET", "/api/v1/metadata"))
        return {name: entries[0].type for name, entries in data.root.items() if entries}

    def tsdb_status(self, limit: int | None = None, match: Iterable[str] = ()) -> TsdbStatus:
        """The TSDB status of Prometheus, or of VictoriaMetrics (told apart by the answer's shape).

        ``limit`` goes out as ``limit`` (Prometheus 2.45+) and ``topN`` (VictoriaMetrics); each server
        ignores the other's. ``match`` selectors are understood by VictoriaMetrics only.
        """
        path = "/api/v1/status/tsdb"
        params = [("limit", str(limit)), ("topN", str(limit))] if limit is not None else []
        params += [("match[]", selector) for selector in match]
        data = self._call("GET", path, params=params or None)
        if isinstance(data, dict) and "headStats" not in data and "totalSeries" in data:
            return victoria_status(self._validate(path, VictoriaTsdbData, data))
        status = self._validate(path, TsdbData, data)
        head = status.headStats
        return TsdbStatus(
            head=HeadStats(head.numSeries, head.numLabelPairs, head.chunkCount, head.minTime, head.maxTime),
            series_count_by_metric_name=as_dict(status.seriesCountByMetricName),
            label_value_count_by_label_name=as_dict(status.labelValueCountByLabelName),
            memory_in_bytes_by_label_name=as_dict(status.memoryInBytesByLabelName),
            series_count_by_label_value_pair=as_dict(status.seriesCountByLabelValuePair),
        )

    def label_names(self, match: Iterable[str] = ()) -> list[str]:
        data = self._call("GET", "/api/v1/labels", params=[("match[]", selector) for selector in match])
        return self._validate("/api/v1/labels", Strings, data).root

    def label_values(self, label: str, match: Iterable[str] = ()) -> list[str]:
        path = f"/api/v1/label/{label_path(label)}/values"
        data = self._call("GET", path, params=[("match[]", selector) for selector in match])
        return self._validate(path, Strings, data).root

    def query_vector(self, expr: str, at: datetime, timeout: float | None = None) -> list[tuple[dict[str, str], float]]:
        """An instant query whose result must be a vector: ``[(labels, value), ...]``.

        ``timeout`` (seconds) bounds the evaluation on Prometheus' side too.
        """
        form = {"query": tagged(expr), "time": f"{at.timestamp():.3f}"}
        if timeout is not None:
            form["timeout"] = f"{timeout:g}s"
        vector = self._validate("/api/v1/query", Vector, self._call("POST", "/api/v1/query", data=form))
        if vector.resultType != "vector":
            raise PrometheusResponseError(f"/api/v1/query: expected a vector result, got {vector.resultType!r}")
        return [(sample.metric, sample_value(sample)) for sample in vector.result]

    def server_kind(self) -> ServerKind:
        """Prometheus or VictoriaMetrics, from the shape of a one-entry TSDB status (its version says 2.24 on VM)."""
        return self.tsdb_status(limit=1).server

    def rules(self) -> list[LoadedRuleGroup]:
        """Every rule group Prometheus has loaded, recording and alerting rules alike."""
        data = self._validate("/api/v1/rules", Rules, self._call("GET", "/api/v1/rules"))
        return [loaded_group(group) for group in data.groups]

    def external_labels(self) -> dict[str, str]:
        labels = self._global_config().get("external_labels") or {}
        if not isinstance(labels, dict):
            raise PrometheusResponseError("/api/v1/status/config: external_labels is not a mapping")
        return {str(k): str(v) for k, v in labels.items()}

    def evaluation_interval(self) -> float:
        """The global ``evaluation_interval`` in seconds: rule groups without their own run at it."""
        text = str(self._global_config().get("evaluation_interval") or "1m")
        try:
            return parse_duration(text).total_seconds()
        except ValueError as exc:
            raise PrometheusResponseError(f"/api/v1/status/config: evaluation_interval {text!r}: {exc}") from exc

    def configuration(self) -> dict[str, Any]:
        """The configuration Prometheus runs with (``/api/v1/status/config``), parsed."""
        path = "/api/v1/status/config"
        config = self._validate(path, ConfigData, self._call("GET", path))
        parsed = parse_yaml(config.yaml_, Path(path), PrometheusResponseError).data or {}
        if not isinstance(parsed, dict):
            raise PrometheusResponseError(f"{path}: the configuration is not a mapping")
        return parsed

    def _global_config(self) -> dict[str, Any]:
        global_ = self.configuration().get("global") or {}
        if not isinstance(global_, dict):
            raise PrometheusResponseError("/api/v1/status/config: `global` is not a mapping")
        return global_

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The ``data`` member of a successful API answer, retried on transient failures."""
        retrying = Retrying(
            retry=retry_if_exception(is_outage),
            stop=stop_any(stop_after_attempt(self._retry.attempts), _StopAt(self._deadline)),
            wait=self._wait,
            sleep=self._retry.sleep,
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            return retrying(self._call_once, method, path, **kwargs)
        except PrometheusError as exc:
            exc.path = exc.path or path
            exc.args = (self._redacted(str(exc)),)
            raise

    def _redacted(self, text: str) -> str:
        """An error whose body echoed the credentials (a proxy's 401 page) says so without them."""
        auth = self._http.auth
        secrets = auth.secrets() if isinstance(auth, FileAuth) else []
        return redact(text, secrets=[*secrets, *_userinfo(self.base_url)])

    def _call_once(self, method: str, path: str, **kwargs: Any) -> Any:
        self._deadline.bound(None, PrometheusTimeout)
        with _map_transport_errors(path), self._http.stream(method, path, **kwargs) as response:
            body = read_capped(path, response, self._max_bytes, self._deadline)
        self.requests += 1
        self.bytes_received += len(body)
        return decode(path, response, body, self._clock.now()).get("data")

    def _wait(self, state: RetryCallState) -> float:
        """Exponential backoff with full jitter, at least ``Retry-After``, never past the deadline."""
        backoff = wait_random_exponential(multiplier=self._retry.base_delay, max=self._retry.max_delay)(state)
        error = state.outcome.exception() if state.outcome else None
        wanted = max(backoff, getattr(error, "retry_after", 0.0) or 0.0)
        left = self._deadline.remaining()
        return min(wanted, MAX_RETRY_AFTER if left is None else max(0.0, left))

    def _count_retry(self, state: RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        log.info("retrying after %s (attempt %d)", error, state.attempt_number)

    @staticmethod
    def _validate(path: str, model: type[_M], data: Any) -> _M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(["data", *(str(part) for part in first["loc"])])
            error = PrometheusResponseError(f"{path}: unexpected response shape at {where}: {first['msg']}")
            error.path = path
            raise error from exc


@contextmanager
def _map_transport_errors(path: str) -> Generator[None, None, None]:
    try:
        yield
    except httpx.TimeoutException as exc:
        raise PrometheusTimeout(f"{path}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise PrometheusUnreachable(f"{path}: cannot connect: {exc or type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise PrometheusError(f"{path}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries of one request within a cycle: attempts, backoff, and the sleep (injected in tests)."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 10.0
    sleep: Callable[[float], None] = time.sleep


class _StopAt(stop_base):
    """Stop retrying once the deadline has passed."""

    def __init__(self, deadline: CallDeadline) -> None:
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        left = self._deadline.remaining()
        return left is not None and left <= 0


def is_outage(error: BaseException) -> bool:
    """Prometheus down or overloaded: no connection, a timeout, 429 or a 5xx not from its query engine.

    Retried within the cycle, and counted by the circuit breaker across cycles.
    """
    if isinstance(error, PrometheusUnreachable | PrometheusTimeout):
        return True
    return isinstance(error, PrometheusHTTPError) and (error.status_code == 429 or error.status_code >= 500)


def _userinfo(url: str) -> list[str]:
    parts = urlsplit(url)
    return [part for part in (parts.username, parts.password) if part]

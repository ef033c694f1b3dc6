"""A typed client for the Prometheus HTTP APIs the auditor reads.

Every httpx and JSON error is translated here, once, into ``PrometheusError``::

    http = build_http_client(url, settings.prometheus, deadline=deadline)   # or a test's transport
    prom = PrometheusClient(http, clock, deadline=deadline)
    prom.buildinfo().version                      # '2.42.0+ds'
"""

from __future__ import annotations

import json
import logging
import math
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from auditor import __version__
from auditor.collect.bounds import PrometheusAccess, TlsFiles
from auditor.collect.deadline import CallDeadline, deadline_transport
from auditor.config.files import MAX_SECRET_BYTES, read_text
from auditor.config.yamlfile import parse_yaml
from auditor.core.domain import BuildInfo, Clock, HeadStats, LoadedRule, LoadedRuleGroup, ServerKind, TsdbStatus
from auditor.core.durations import parse_duration
from auditor.core.errors import (
    ConfigError,
    PrometheusError,
    PrometheusHTTPError,
    PrometheusQueryError,
    PrometheusResponseError,
    PrometheusTimeout,
    PrometheusTooLarge,
    PrometheusUnreachable,
)
from auditor.core.promql import QUERY_TAG, is_legacy_label
from auditor.core.redact import redact, redact_url


class _Strictish(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


_M = TypeVar("_M", bound=BaseModel)
log = logging.getLogger(__name__)


INT64_MAX = 2**63 - 1
MAX_RETRY_AFTER = 60.0
"""The longest wait a ``Retry-After`` gets without a deadline (there is always one in a cycle or a command)."""


class _NameValue(_Strictish):
    name: str
    value: int = Field(ge=0, le=INT64_MAX)


class _HeadStats(_Strictish):
    numSeries: int = Field(ge=0, le=INT64_MAX)
    numLabelPairs: int = Field(0, ge=0, le=INT64_MAX)
    chunkCount: int = Field(0, ge=0, le=INT64_MAX)
    minTime: int = 0
    maxTime: int = 0


class _TsdbData(_Strictish):
    headStats: _HeadStats
    seriesCountByMetricName: list[_NameValue] | None = None
    labelValueCountByLabelName: list[_NameValue] | None = None
    memoryInBytesByLabelName: list[_NameValue] | None = None
    seriesCountByLabelValuePair: list[_NameValue] | None = None


class _VictoriaTsdbData(_Strictish):
    """VictoriaMetrics' answer: totals in place of ``headStats``, lists capped by ``topN``."""

    totalSeries: int = Field(ge=0, le=INT64_MAX)
    totalLabelValuePairs: int = Field(0, ge=0, le=INT64_MAX)
    seriesCountByMetricName: list[_NameValue] | None = None
    labelValueCountByLabelName: list[_NameValue] | None = None
    seriesCountByLabelValuePair: list[_NameValue] | None = None


class _BuildInfoData(_Strictish):
    version: str


class _Sample(_Strictish):
    metric: dict[str, str]
    value: tuple[float, str]


class _Vector(_Strictish):
    resultType: str
    result: list[_Sample]


class _Rule(_Strictish):
    name: str
    type: str
    query: str
    labels: dict[str, str] = Field(default_factory=dict)
    health: str = "unknown"
    lastError: str = ""
    duration: float = Field(0.0, ge=0)
    keepFiringFor: float = Field(0.0, ge=0)  # Prometheus 2.42+; absent before
    annotations: dict[str, str] = Field(default_factory=dict)


class _RuleGroup(_Strictish):
    name: str
    file: str
    interval: float = Field(ge=0)
    limit: int = Field(0, ge=0)
    rules: list[_Rule]


class _Rules(_Strictish):
    groups: list[_RuleGroup]


class _Strings(RootModel[list[str]]):
    pass


class _ConfigData(_Strictish):
    yaml_: str = Field(alias="yaml")


class _FileAuth(httpx.Auth):
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
        auth=_FileAuth(settings),
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
        data = self._validate("/api/v1/status/buildinfo", _BuildInfoData, self._call("GET", "/api/v1/status/buildinfo"))
        return BuildInfo(version=data.version)

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
            return _victoria_status(self._validate(path, _VictoriaTsdbData, data))
        status = self._validate(path, _TsdbData, data)
        head = status.headStats
        return TsdbStatus(
            head=HeadStats(head.numSeries, head.numLabelPairs, head.chunkCount, head.minTime, head.maxTime),
            series_count_by_metric_name=_as_dict(status.seriesCountByMetricName),
            label_value_count_by_label_name=_as_dict(status.labelValueCountByLabelName),
            memory_in_bytes_by_label_name=_as_dict(status.memoryInBytesByLabelName),
            series_count_by_label_value_pair=_as_dict(status.seriesCountByLabelValuePair),
        )

    def label_names(self, match: Iterable[str] = ()) -> list[str]:
        data = self._call("GET", "/api/v1/labels", params=[("match[]", selector) for selector in match])
        return self._validate("/api/v1/labels", _Strings, data).root

    def label_values(self, label: str, match: Iterable[str] = ()) -> list[str]:
        path = f"/api/v1/label/{label_path(label)}/values"
        data = self._call("GET", path, params=[("match[]", selector) for selector in match])
        return self._validate(path, _Strings, data).root

    def query_vector(self, expr: str, at: datetime, timeout: float | None = None) -> list[tuple[dict[str, str], float]]:
        """An instant query whose result must be a vector: ``[(labels, value), ...]``.

        ``timeout`` (seconds) bounds the evaluation on Prometheus' side too.
        """
        form = {"query": tagged(expr), "time": f"{at.timestamp():.3f}"}
        if timeout is not None:
            form["timeout"] = f"{timeout:g}s"
        vector = self._validate("/api/v1/query", _Vector, self._call("POST", "/api/v1/query", data=form))
        if vector.resultType != "vector":
            raise PrometheusResponseError(f"/api/v1/query: expected a vector result, got {vector.resultType!r}")
        return [(sample.metric, _sample_value(sample)) for sample in vector.result]

    def server_kind(self) -> ServerKind:
        """Prometheus or VictoriaMetrics, from the shape of a one-entry TSDB status (its version says 2.24 on VM)."""
        return self.tsdb_status(limit=1).server

    def rules(self) -> list[LoadedRuleGroup]:
        """Every rule group Prometheus has loaded, recording and alerting rules alike."""
        data = self._validate("/api/v1/rules", _Rules, self._call("GET", "/api/v1/rules"))
        return [
            LoadedRuleGroup(
                name=group.name,
                file=group.file,
                interval_seconds=group.interval,
                limit=group.limit,
                rules=tuple(
                    LoadedRule(
                        r.name,
                        r.type,
                        r.query,
                        dict(r.labels),
                        r.health,
                        r.lastError,
                        r.duration,
                        dict(r.annotations),
                        r.keepFiringFor,
                    )
                    for r in group.rules
                ),
            )
            for group in data.groups
        ]

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
        config = self._validate(path, _ConfigData, self._call("GET", path))
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
        secrets = auth.secrets() if isinstance(auth, _FileAuth) else []
        return redact(text, secrets=[*secrets, *_userinfo(self.base_url)])

    def _call_once(self, method: str, path: str, **kwargs: Any) -> Any:
        self._deadline.bound(None, PrometheusTimeout)
        with _map_transport_errors(path), self._http.stream(method, path, **kwargs) as response:
            body = _read_capped(path, response, self._max_bytes, self._deadline)
        self.requests += 1
        self.bytes_received += len(body)
        return _decode(path, response, body, self._clock.now()).get("data")

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


def _read_capped(path: str, response: httpx.Response, limit: int, deadline: CallDeadline) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        deadline.bound(None, PrometheusTimeout)  # where no connection keeps it (a test's transport)
        size += len(chunk)
        if size > limit:
            raise PrometheusTooLarge(
                f"{path}: response larger than {limit:,} bytes (AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _retry_after(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError, OverflowError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None  # "inf" and "nan" say nothing usable


def _decode(path: str, response: httpx.Response, body: bytes, now: datetime) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        status = response.status_code
        if response.is_success:
            raise PrometheusResponseError(f"{path}: response is not a JSON object ({_describe_body(response, body)})")
        raise PrometheusHTTPError(
            f"{path}: HTTP {status} ({_describe_body(response, body)})", status, _retry_after(response, now)
        )
    if payload.get("status") == "error":
        error_type = str(payload.get("errorType", "unknown"))
        message = str(payload.get("error", "no error message"))
        raise PrometheusQueryError(f"{path}: HTTP {response.status_code}: {error_type}: {message}", error_type)
    if not response.is_success:
        status = response.status_code
        raise PrometheusHTTPError(
            f"{path}: HTTP {status} ({_describe_body(response, body)})", status, _retry_after(response, now)
        )
    if payload.get("status") != "success":
        raise PrometheusResponseError(f"{path}: unexpected status {payload.get('status')!r}")
    return payload


def _userinfo(url: str) -> list[str]:
    parts = urlsplit(url)
    return [part for part in (parts.username, parts.password) if part]


def _describe_body(response: httpx.Response, body: bytes) -> str:
    content_type = response.headers.get("content-type", "no content type").split(";")[0]
    if not body:
        return f"empty body, {content_type}"
    snippet = " ".join(body[:120].decode("utf-8", "replace").split())
    return f"{content_type}: {snippet!r}"


def _sample_value(sample: _Sample) -> float:
    try:
        value = float(sample.value[1])
    except ValueError as exc:
        raise PrometheusResponseError(f"/api/v1/query: sample value {sample.value[1]!r} is not a number") from exc
    if not -INT64_MAX <= value <= INT64_MAX:
        raise PrometheusResponseError(f"/api/v1/query: sample value {sample.value[1]!r} is out of range")
    return value


def _as_dict(items: list[_NameValue] | None) -> dict[str, int]:
    return {item.name: item.value for item in items or ()}


def _victoria_status(data: _VictoriaTsdbData) -> TsdbStatus:
    return TsdbStatus(
        head=HeadStats(data.totalSeries, data.totalLabelValuePairs, 0, 0, 0),
        series_count_by_metric_name=_as_dict(data.seriesCountByMetricName),
        label_value_count_by_label_name=_as_dict(data.labelValueCountByLabelName),
        memory_in_bytes_by_label_name={},
        series_count_by_label_value_pair=_as_dict(data.seriesCountByLabelValuePair),
        server=ServerKind.VICTORIAMETRICS,
    )


def label_path(label: str) -> str:
    """A label name as a URL path segment: legacy names as they are, others in the API's ``U__`` escaping.

    >>> label_path("job"), label_path("url.scheme")
    ('job', 'U__url_2e_scheme')
    """
    if is_legacy_label(label):
        return label
    return "U__" + "".join(ch if ch.isascii() and (ch.isalnum() and ch != "_") else _escape_rune(ch) for ch in label)


def _escape_rune(ch: str) -> str:
    return "__" if ch == "_" else f"_{ord(ch):x}_"


__all__ = ["PrometheusClient", "build_http_client"]


def tagged(expr: str) -> str:
    """``expr`` with the auditor's tag as a trailing PromQL comment: the query log tells its queries apart.

    >>> tagged("up")
    'up\\n# metrics-auditor'
    """
    return f"{expr}\n{QUERY_TAG}"

"""The census: the series count of every metric name Prometheus holds.

The method depends on the server (docs/architecture.md)::

    collector = CensusCollector(PrometheusClient(http, clock), settings.census, clock, asked)
    census = collector.collect("prod-eu", Deadline.after(120, clock.monotonic))
    census.method        # CensusMethod.COUNT_BY_NAME on 2.42

Prometheus 2.45+: one TSDB status request with ``limit`` gives the largest metrics (head series);
when its list comes back full, the other names are counted with chunked instant queries (active
series), and the census is ``mixed``. VictoriaMetrics is recognised by its answer (``totalSeries``,
no ``headStats``): its list is completed with ``match[]`` requests of the same API.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from auditor.collect.bounds import CensusBounds
from auditor.collect.client import PrometheusClient
from auditor.core.domain import Census, CensusMethod, Clock, SeriesNotion, ServerKind, TsdbStatus
from auditor.core.errors import CycleCancelled, PrometheusQueryError, PrometheusResponseError, PrometheusTimeout
from auditor.core.promql import names_regex_selector

log = logging.getLogger(__name__)

LIMIT_SINCE = (2, 45, 0)
"""First version whose TSDB status honours ``limit``."""
LIMIT_CAPPED_SINCE = (3, 9, 0)
"""From this version a ``limit`` above ``LIMIT_CAP`` is an error."""
LIMIT_CAP = 10_000
LIMIT_PERIOD = 32
"""Prometheus 2.45+ caches the TSDB status per ``limit`` while fewer than 31 whole seconds (its clock) passed:
limits that repeat only every 32 seconds of ours never meet that cache, even a second of clock skew apart."""
_MAX_REGEX_BYTES = 65_536
_TOO_MANY_SAMPLES = "too many samples"


class AskedLimits:
    """Server URL -> the TSDB-status limit last asked with. Prometheus keeps one cached answer per server,
    whichever auditor object asked: one memory per process (the root makes it; a reload hands it on)."""

    def __init__(self) -> None:
        self._asked: dict[str, int] = {}
        self._lock = threading.Lock()

    def fresh(self, url: str, limit: int, again: Callable[[], int]) -> int:
        """``limit``, or ``again()`` when the server was last asked with ``limit``; remembered either way."""
        with self._lock:
            if self._asked.get(url) == limit:
                limit = again()
            self._asked[url] = limit
        return limit


@dataclass(frozen=True, slots=True)
class Deadline:
    """A cycle's time limit and the daemon's stop signal, checked between requests; ``monotonic`` is the clock's."""

    at_monotonic: float
    monotonic: Callable[[], float]
    cancel: threading.Event | None = None

    @classmethod
    def after(cls, seconds: float, monotonic: Callable[[], float], cancel: threading.Event | None = None) -> Deadline:
        return cls(monotonic() + seconds, monotonic, cancel)

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CycleCancelled("the daemon is stopping; cycle abandoned before storing anything")
        if self.monotonic() > self.at_monotonic:
            raise PrometheusTimeout("the cycle ran past its deadline (AUDITOR_AUDIT_TIMEOUT)")


@dataclass(frozen=True, slots=True)
class _Counts:
    """Per-metric series of one census and how they were obtained."""

    metrics: dict[str, int]
    method: CensusMethod
    notion: SeriesNotion
    truncated: bool = False
    stale: int = 0
    head_metrics: frozenset[str] = frozenset()


class CensusCollector:
    def __init__(
        self, client: PrometheusClient, settings: CensusBounds, clock: Clock, asked: AskedLimits | None = None
    ) -> None:
        self._asked = asked or AskedLimits()
        self._client = client
        self._settings = settings
        self._clock = clock

    def collect(self, source: str, deadline: Deadline) -> Census:
        deadline.check()
        version = self._client.buildinfo()
        collected_at = self._clock.now()
        deadline.check()
        limit = self._fresh_limit(version.version_tuple, collected_at)
        status = self._client.tsdb_status(limit=limit)
        if status.server is ServerKind.VICTORIAMETRICS:
            counts = self._from_victoria(status, limit, deadline)
        elif version.version_tuple >= LIMIT_SINCE:
            counts = self._from_tsdb_status(status, limit, collected_at, deadline)
        else:
            counts = self._count_all(collected_at, deadline)
        return Census(
            source=source,
            collected_at=collected_at,
            prometheus_version=version.version,
            method=counts.method,
            notion=counts.notion,
            head=status.head,
            metrics=counts.metrics,
            label_stats=_top(status, self._settings.label_stats_top),
            tsdb_truncated=counts.truncated,
            stale_names=counts.stale,
            head_metrics=counts.head_metrics,
            server=status.server,
        )

    def limit(self, version: tuple[int, int, int], at: datetime, repeat: bool = False) -> int:
        """The configured ``limit``, capped where the server refuses more, moved by the clock's second.

        Prometheus caches the TSDB status for 30 s under the ``limit`` it was asked with (whole
        seconds, the 30th included): a limit that no call of the last 31 seconds used
        (``base + second % 32``) makes it count afresh, so a census is never an older cached answer.
        ``repeat``: a second census within the same second takes the next 32 limits instead.
        """
        cap = LIMIT_CAP if version >= LIMIT_CAPPED_SINCE else None
        base = min(self._settings.tsdb_limit, cap) if cap else self._settings.tsdb_limit
        offset = int(at.timestamp()) % LIMIT_PERIOD + (LIMIT_PERIOD if repeat else 0)
        if cap is None or base + 2 * LIMIT_PERIOD - 1 <= cap:
            return base + offset
        return max(1, base - offset)

    def _fresh_limit(self, version: tuple[int, int, int], at: datetime) -> int:
        """``limit``, unless this process asked this server with that limit last (within the same second)."""
        limit = self.limit(version, at)
        if version < LIMIT_SINCE:
            return limit  # no cache to dodge (and VictoriaMetrics claims 2.24)
        return self._asked.fresh(self._client.base_url, limit, lambda: self.limit(version, at, repeat=True))

    def _from_tsdb_status(self, status: TsdbStatus, limit: int, at: datetime, deadline: Deadline) -> _Counts:
        metrics = dict(status.series_count_by_metric_name)
        # An empty list beside a non-empty head is Prometheus' stats cache from before the first scrape.
        truncated = len(metrics) >= limit or (not metrics and status.head.num_series > 0)
        if not truncated:
            return _Counts(metrics, CensusMethod.TSDB_STATUS, SeriesNotion.HEAD)
        deadline.check()
        rest = [name for name in self._client.label_values("__name__") if name not in metrics]
        log.info("TSDB status list is full at limit=%d; counting %d more metric names", limit, len(rest))
        if not rest:
            return _Counts(metrics, CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, truncated=True)
        counted = self._count(rest, at, deadline)
        head = frozenset(metrics)
        metrics.update(counted)
        return _Counts(
            metrics, CensusMethod.TSDB_STATUS_AND_COUNT, SeriesNotion.MIXED, True, len(rest) - len(counted), head
        )

    def _from_victoria(self, status: TsdbStatus, limit: int, deadline: Deadline) -> _Counts:
        """VictoriaMetrics: its ``topN`` list, completed with ``match[]`` requests for the other names."""
        metrics = dict(status.series_count_by_metric_name)
        if len(metrics) < limit and status.lists_complete():
            return _Counts(metrics, CensusMethod.TSDB_STATUS, SeriesNotion.DAY)
        deadline.check()
        rest = [name for name in self._client.label_values("__name__") if name not in metrics]
        log.info("TSDB status list is capped at %d names; asking for %d more by name", len(metrics), len(rest))
        for chunk in chunked(rest, self._settings.chunk_size):
            metrics.update(self._victoria_chunk(chunk, deadline))
        return _Counts(metrics, CensusMethod.TSDB_STATUS_BY_MATCH, SeriesNotion.DAY, truncated=True)

    def _victoria_chunk(self, names: Sequence[str], deadline: Deadline) -> dict[str, int]:
        """One chunk of names; halved while the server's own ``topN`` cap cuts the answer short."""
        deadline.check()
        status = self._client.tsdb_status(limit=len(names), match=[names_regex_selector(names)])
        if status.lists_complete() or len(names) == 1:
            return status.series_count_by_metric_name
        half = len(names) // 2
        return self._victoria_chunk(names[:half], deadline) | self._victoria_chunk(names[half:], deadline)

    def _count_all(self, at: datetime, deadline: Deadline) -> _Counts:
        deadline.check()
        names = self._client.label_values("__name__")
        counts = self._count(names, at, deadline)
        if names and not counts:
            raise PrometheusResponseError(
                f"no active series although {len(names)} metric names are listed: "
                "Prometheus may still be starting (replaying its WAL); the next cycle retries"
            )
        return _Counts(counts, CensusMethod.COUNT_BY_NAME, SeriesNotion.ACTIVE, stale=len(names) - len(counts))

    def _count(self, names: Sequence[str], at: datetime, deadline: Deadline) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk in chunked(names, self._settings.chunk_size):
            counts.update(self._count_chunk(chunk, at, deadline))
        return counts

    def _count_chunk(self, names: Sequence[str], at: datetime, deadline: Deadline) -> dict[str, int]:
        """Count one chunk; halve it while Prometheus refuses it for ``query.max-samples``."""
        deadline.check()
        try:
            vector = self._client.query_vector(count_query(names), at)
        except PrometheusQueryError as exc:
            if _TOO_MANY_SAMPLES not in str(exc) or len(names) == 1:
                raise
            half = len(names) // 2
            log.info("count query over %d names hit query.max-samples; splitting", len(names))
            return self._count_chunk(names[:half], at, deadline) | self._count_chunk(names[half:], at, deadline)
        return {labels.get("__name__", ""): int(value) for labels, value in vector if value > 0}


def count_query(names: Sequence[str]) -> str:
    """``count by (__name__) ({__name__=~"a|b"})`` for exactly these names (any names, UTF-8 ones too).

    >>> count_query(["up", "go_info"])
    'count by (__name__) ({__name__=~"up|go_info"})'
    """
    return f"count by (__name__) ({names_regex_selector(names)})"


def chunked(names: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    """Chunks of at most ``size`` names and ``_MAX_REGEX_BYTES`` of regex each."""
    start = 0
    while start < len(names):
        end, length = start, 0
        while end < len(names) and end - start < size:
            length += len(names[end].encode()) + 1
            if length > _MAX_REGEX_BYTES and end > start:
                break
            end += 1
        yield names[start:end]
        start = end


def _top(status: TsdbStatus, keep: int) -> dict[str, dict[str, int]]:
    lists = status.label_stats()
    return {key: dict(sorted(values.items(), key=lambda kv: -kv[1])[:keep]) for key, values in lists.items()}

"""The census: the series count of every metric name Prometheus holds.

The method depends on the server (DESIGN 4)::

    collector = CensusCollector(PrometheusClient(http), CensusSettings(), clock=utc_now)
    census = collector.collect("prod-eu", Deadline.after(120))
    census.method        # CensusMethod.COUNT_BY_NAME on 2.42
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from auditor.collect.client import PrometheusClient
from auditor.domain import Census, CensusMethod, Clock, SeriesNotion, TsdbStatus
from auditor.errors import CycleCancelled, PrometheusQueryError, PrometheusResponseError, PrometheusTimeout
from auditor.settings import CensusSettings

log = logging.getLogger(__name__)

LIMIT_SINCE = (2, 45, 0)
"""First version whose TSDB status honours ``limit``."""
LIMIT_CAPPED_SINCE = (3, 9, 0)
"""From this version a ``limit`` above ``LIMIT_CAP`` is an error."""
LIMIT_CAP = 10_000
_MAX_REGEX_BYTES = 32_768
_TOO_MANY_SAMPLES = "too many samples"


@dataclass(frozen=True, slots=True)
class Deadline:
    """A cycle's time limit and the daemon's stop signal, checked between requests."""

    at_monotonic: float
    cancel: threading.Event | None = None

    @classmethod
    def after(cls, seconds: float, cancel: threading.Event | None = None) -> Deadline:
        return cls(time.monotonic() + seconds, cancel)

    def check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise CycleCancelled("the daemon is stopping; cycle abandoned before storing anything")
        if time.monotonic() > self.at_monotonic:
            raise PrometheusTimeout("the cycle ran past its deadline (AUDITOR_AUDIT_TIMEOUT)")


class CensusCollector:
    def __init__(self, client: PrometheusClient, settings: CensusSettings, clock: Clock) -> None:
        self._client = client
        self._settings = settings
        self._clock = clock

    def collect(self, source: str, deadline: Deadline) -> Census:
        deadline.check()
        version = self._client.buildinfo()
        collected_at = self._clock()
        deadline.check()
        if version.version_tuple >= LIMIT_SINCE:
            limit = self._limit(version.version_tuple)
            status = self._client.tsdb_status(limit=limit)
            metrics, method, notion, truncated = self._from_tsdb_status(status, limit, collected_at, deadline)
            stale = 0
        else:
            status = self._client.tsdb_status()
            metrics, stale = self._count_all(collected_at, deadline)
            method, notion, truncated = CensusMethod.COUNT_BY_NAME, SeriesNotion.ACTIVE, False
        return Census(
            source=source,
            collected_at=collected_at,
            prometheus_version=version.version,
            method=method,
            notion=notion,
            head=status.head,
            metrics=metrics,
            label_stats=_top(status, self._settings.label_stats_top),
            tsdb_truncated=truncated,
            stale_names=stale,
        )

    def _limit(self, version: tuple[int, int, int]) -> int:
        if version >= LIMIT_CAPPED_SINCE:
            return min(self._settings.tsdb_limit, LIMIT_CAP)
        return self._settings.tsdb_limit

    def _from_tsdb_status(
        self, status: TsdbStatus, limit: int, at: datetime, deadline: Deadline
    ) -> tuple[dict[str, int], CensusMethod, SeriesNotion, bool]:
        metrics = dict(status.series_count_by_metric_name)
        # An empty list beside a non-empty head is Prometheus' 30 s stats cache right after start.
        truncated = len(metrics) >= limit or (not metrics and status.head.num_series > 0)
        if not truncated:
            return metrics, CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, False
        deadline.check()
        rest = [name for name in self._client.label_values("__name__") if name not in metrics]
        log.info("TSDB status list is full at limit=%d; counting %d more metric names", limit, len(rest))
        if not rest:
            return metrics, CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, True
        metrics.update(self._count(rest, at, deadline))
        return metrics, CensusMethod.TSDB_STATUS_AND_COUNT, SeriesNotion.MIXED, True

    def _count_all(self, at: datetime, deadline: Deadline) -> tuple[dict[str, int], int]:
        deadline.check()
        names = self._client.label_values("__name__")
        counts = self._count(names, at, deadline)
        if names and not counts:
            raise PrometheusResponseError(
                f"no active series although {len(names)} metric names are listed: "
                "Prometheus may still be starting (replaying its WAL); the next cycle retries"
            )
        return counts, len(names) - len(counts)

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
    """``count by (__name__) ({__name__=~"a|b"})`` for exactly these names.

    >>> count_query(["up", "go_info"])
    'count by (__name__) ({__name__=~"up|go_info"})'
    """
    regex = "|".join(re.escape(name) for name in names)
    return f"count by (__name__) ({{__name__=~{json.dumps(regex, ensure_ascii=False)}}})"


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

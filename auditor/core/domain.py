"""Plain domain objects passed between collect, store, evaluate and export."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol


class Clock(Protocol):
    """The one source of time, handed to everything that reads it (``app/clock.py`` reads the system's).

    ``now()`` dates what happens (UTC, aware); ``monotonic()`` measures how long it takes (deadlines,
    bounds, the breaker): tests hand a clock of their own, and a deadline is tested without waiting.
    """

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


def floor_to(moment: datetime, span: timedelta) -> datetime:
    """The start of the ``span``-long bucket holding ``moment`` (buckets aligned to the epoch, in UTC).

    >>> floor_to(datetime(2026, 11, 20, 12, 34, tzinfo=UTC), timedelta(hours=1)).hour
    12
    """
    return datetime.fromtimestamp(floor_seconds(moment.timestamp(), span.total_seconds()), UTC)


def ceil_to(moment: datetime, span: timedelta) -> datetime:
    """The first bucket boundary at or after ``moment``."""
    start = floor_to(moment, span)
    return start if start == moment else start + span


def floor_seconds(unix_seconds: float, span_seconds: float) -> float:
    """``floor_to`` on unix seconds, for the hot loops that bucket many rows."""
    return unix_seconds // span_seconds * span_seconds


class Tier(StrEnum):
    """A rollup tier of the history: hourly and daily maxima, minima and last values."""

    HOUR = "hour"
    DAY = "day"

    @property
    def span(self) -> timedelta:
        return timedelta(hours=1) if self is Tier.HOUR else timedelta(days=1)


class Status(StrEnum):
    """How a cycle ended, as its snapshot row says."""

    OK = "ok"
    FAILED = "failed"


class CensusMethod(StrEnum):
    """How the per-metric series counts of a census were obtained."""

    TSDB_STATUS = "tsdb_status"
    """2.45+: one ``/api/v1/status/tsdb?limit=N`` answer held every metric."""
    TSDB_STATUS_AND_COUNT = "tsdb_status+count"
    """2.45+: the TSDB status list came back full; the rest was counted with instant queries."""
    COUNT_BY_NAME = "count_by_name"
    """Before 2.45: chunked ``count by (__name__)`` instant queries."""
    TSDB_STATUS_BY_MATCH = "tsdb_status+match"
    """VictoriaMetrics: the ``topN`` list came back full; the rest came from ``match[]`` requests of the same API."""


class ServerKind(StrEnum):
    """What answers the Prometheus API: decided from the TSDB status answer, not from the claimed version."""

    PROMETHEUS = "prometheus"
    VICTORIAMETRICS = "victoriametrics"


class SeriesNotion(StrEnum):
    """Which notion of "series" a census counts (docs/architecture.md)."""

    HEAD = "head"
    """Head series, including stale series until the next head GC."""
    ACTIVE = "active"
    """Series with a current sample, as an instant query sees them."""
    MIXED = "mixed"
    """Head series for the metrics of the TSDB status list, active series for the rest (``Census.head_metrics``)."""
    DAY = "day"
    """VictoriaMetrics: series with samples on the current UTC day (its per-day index), stale ones included."""


@dataclass(frozen=True, slots=True)
class BuildInfo:
    version: str

    @property
    def version_tuple(self) -> tuple[int, int, int]:
        """``"2.42.0+ds"`` -> ``(2, 42, 0)``; unparsable parts count as 0."""
        core = self.version.lstrip("v").split("+")[0].split("-")[0]
        nums = [int(p) if p.isdigit() else 0 for p in core.split(".")[:3]]
        nums += [0] * (3 - len(nums))
        return nums[0], nums[1], nums[2]


@dataclass(frozen=True, slots=True)
class HeadStats:
    num_series: int
    num_label_pairs: int
    chunk_count: int
    min_time_ms: int
    max_time_ms: int


@dataclass(frozen=True, slots=True)
class TsdbStatus:
    """``/api/v1/status/tsdb``: head stats and the four ``[{name, value}]`` lists.

    VictoriaMetrics answers ``totalSeries`` and ``totalLabelValuePairs`` in place of ``headStats``:
    they fill ``head`` (no chunks, no times) and ``server`` says which answered.
    """

    head: HeadStats
    series_count_by_metric_name: dict[str, int]
    label_value_count_by_label_name: dict[str, int]
    memory_in_bytes_by_label_name: dict[str, int]
    series_count_by_label_value_pair: dict[str, int]
    server: ServerKind = ServerKind.PROMETHEUS

    def lists_complete(self) -> bool:
        """The per-metric list adds up to every series (only VictoriaMetrics' totals are computed with it)."""
        return sum(self.series_count_by_metric_name.values()) >= self.head.num_series

    def label_stats(self) -> dict[str, dict[str, int]]:
        """The label lists keyed by their API name, as the store keeps them."""
        return {
            "labelValueCountByLabelName": self.label_value_count_by_label_name,
            "memoryInBytesByLabelName": self.memory_in_bytes_by_label_name,
            "seriesCountByLabelValuePair": self.series_count_by_label_value_pair,
        }


@dataclass(frozen=True, slots=True)
class Census:
    """Series count of every metric name Prometheus holds, at one instant."""

    source: str
    collected_at: datetime
    prometheus_version: str
    method: CensusMethod
    notion: SeriesNotion
    head: HeadStats
    metrics: dict[str, int]
    label_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    tsdb_truncated: bool = False
    stale_names: int = 0
    """Names Prometheus still lists but that had no active series (count method only)."""
    head_metrics: frozenset[str] = frozenset()
    """In a ``mixed`` census: the metrics counted from the TSDB status list (head series); the rest are active."""
    server: ServerKind = ServerKind.PROMETHEUS

    def notion_of(self, metric: str) -> SeriesNotion:
        """The notion of one metric's count: a mixed census holds head counts and active counts."""
        if self.notion is not SeriesNotion.MIXED:
            return self.notion
        return SeriesNotion.HEAD if metric in self.head_metrics else SeriesNotion.ACTIVE

    def by_notion(self, metrics: Iterable[str] | None = None) -> dict[SeriesNotion, list[str]]:
        """Metric names (this census's, or ``metrics``) grouped by the notion of their count here."""
        groups: dict[SeriesNotion, list[str]] = {}
        for metric in self.metrics if metrics is None else metrics:
            groups.setdefault(self.notion_of(metric), []).append(metric)
        return groups

    def ranked(self) -> list[tuple[str, int]]:
        """Metrics by series count, descending; ties by name."""
        return sorted(self.metrics.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """One rule as Prometheus reports it: ``query`` is Prometheus' re-printed expression."""

    name: str
    type: str
    query: str
    labels: dict[str, str]
    health: str
    last_error: str = ""
    duration_seconds: float = 0.0
    """``for`` of an alerting rule."""
    annotations: dict[str, str] = field(default_factory=dict)
    keep_firing_for_seconds: float = 0.0
    """``keep_firing_for`` of an alerting rule (Prometheus 2.42+)."""


@dataclass(frozen=True, slots=True)
class LoadedRuleGroup:
    """A rule group Prometheus has loaded (``/api/v1/rules``)."""

    name: str
    file: str
    interval_seconds: float
    limit: int
    rules: tuple[LoadedRule, ...]


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    collected_at: datetime
    series: int
    resolution: str = "cycle"
    """``cycle`` for a raw census; ``hour`` or ``day`` (the bucket's maximum) once the raw rows are pruned."""


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    id: int
    source: str
    collected_at: datetime
    status: str
    method: str | None
    head_series: int | None
    metric_count: int


@dataclass(frozen=True, slots=True)
class LabelStats:
    """Drill-down of one label of one metric."""

    values: int
    """Distinct values of the label among the metric's series."""
    series_without: int | None = None
    """Series the metric would have without this label (``count(count without (label) (metric))``)."""
    series_with: int | None = None
    """Active series of the metric measured beside ``series_without`` (``count(metric)``): the pair is the proof
    whether dropping the label merges series."""
    shape: str | None = None
    """What most of its values look like (``auditor.core.value_shapes.Shape``), when they look like ids."""


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One cycle as the report sees it (failed cycles included)."""

    collected_at: datetime
    status: str
    error_reason: str | None
    head_series: int | None
    truncated: bool


@dataclass(frozen=True, slots=True)
class EndpointsView:
    """The optional endpoints' failures and states (``collect/optional.py`` keeps them, ``/metrics`` shows them)."""

    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    """(endpoint, reason) -> failed requests since start."""
    up: dict[str, bool] = field(default_factory=dict)
    """endpoint -> whether its last request succeeded."""

"""Plain domain objects passed between collect, store, evaluate and export."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from auditor.core.durations import format_duration


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


class Kind(StrEnum):
    SERIES = "series"
    GROWTH = "growth"
    LABEL = "label"
    LABEL_POLICY = "label_policy"
    JOB = "job"
    """A scrape job over its budget: ``metric`` holds the job's name."""
    SCRAPE_LIMIT = "scrape_limit"
    """A job's largest target near or over the job's ``sample_limit``: ``metric`` is the job, ``label`` the target."""
    UNPROTECTED_JOB = "unprotected_job"
    """A job with no ``sample_limit``: ``metric`` is the job."""
    JOB_GROWTH = "job_growth"
    """A scrape job grew more than its ``jobs:`` entry's ``max_growth``: ``metric`` is the job."""


JOB_KINDS = frozenset({Kind.JOB, Kind.SCRAPE_LIMIT, Kind.UNPROTECTED_JOB, Kind.JOB_GROWTH})
"""Findings about a scrape job: their ``metric`` holds the job's name, and no per-metric fix applies."""


class Severity(StrEnum):
    WARNING = "warning"
    EXCEEDED = "exceeded"


@dataclass(frozen=True, slots=True)
class LabelStats:
    """Drill-down of one label of one metric."""

    values: int
    """Distinct values of the label among the metric's series."""
    series_without: int | None = None
    """Series the metric would have without this label (``count(count without (label) (metric))``)."""


FindingKey = tuple[str, str, str, str, str]
"""(metric, kind, label, growth window, severity): one finding's identity, in a cycle and in the store."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict on one metric: what, whose, how much, against which limit."""

    metric: str
    owner: str
    kind: Kind
    severity: Severity
    series: int
    max_series: int
    value: float
    limit: float
    label: str = ""
    window: timedelta | None = None

    @property
    def identity(self) -> FindingKey:
        """The same identity in the next cycle is the same (continuing) finding; stored rows have it too."""
        window = format_duration(self.window) if self.window else ""
        return self.metric, self.kind.value, self.label, window, self.severity.value

    @property
    def is_job(self) -> bool:
        return self.kind in JOB_KINDS

    def describe(self) -> str:
        return _DESCRIPTIONS[self.kind](self)


def _share(value: float, of: float) -> str:
    return f"{value / of:.0%}" if of else "none allowed"


def _growth(f: Finding) -> str:
    window = format_duration(f.window) if f.window else "?"
    return f"grew {f.value:+.0%} in {window}, limit +{f.limit:.0%}"


_DESCRIPTIONS: dict[Kind, Callable[[Finding], str]] = {
    Kind.SERIES: lambda f: f"{f.series:,} series, budget {f.max_series:,} ({_share(f.value, f.max_series)})",
    Kind.GROWTH: _growth,
    Kind.LABEL: lambda f: f"label {f.label} has {f.value:,.0f} values, limit {f.limit:,.0f}",
    Kind.LABEL_POLICY: lambda f: f"label {f.label} ({f.value:,.0f} values) is not allowed by the label policy",
    Kind.JOB: lambda f: f"job {f.metric}: {f.series:,} series, budget {f.max_series:,} ({_share(f.value, f.limit)})",
    Kind.SCRAPE_LIMIT: lambda f: (
        f"job {f.metric}: target {f.label} sends {f.series:,} samples, "
        f"{f.value:.0%} of its sample_limit {f.max_series:,}"
    ),
    Kind.UNPROTECTED_JOB: lambda f: f"job {f.metric} has no sample_limit (largest target: {f.series:,} samples)",
    Kind.JOB_GROWTH: lambda f: f"job {f.metric} {_growth(f)}",
}


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One cycle as the report sees it (failed cycles included)."""

    collected_at: datetime
    status: str
    error_reason: str | None
    head_series: int | None
    truncated: bool


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A stored finding with its whole life: first seen, last seen, resolved (None while it is open)."""

    metric: str
    kind: str
    label: str
    window: str
    severity: str
    owner: str
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    series: int
    max_series: int
    value: float
    limit: float

    @property
    def identity(self) -> FindingKey:
        return self.metric, self.kind, self.label, self.window, self.severity

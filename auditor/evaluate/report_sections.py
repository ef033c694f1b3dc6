"""The weekly report's sections as types: one dataclass per section and per row.

Field order is the order of the JSON keys (``Report.to_json`` is ``asdict``); ``docs/report.schema.json`` is
generated from these types (``scripts/report-schema``), and a test keeps it current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auditor.core.label_usage import Reader
from auditor.core.remedies import Proof


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    label: str
    source: str
    owner: str | None


@dataclass(frozen=True)
class Summary:
    series_start: int | None
    series_end: int | None
    series_change: float | None
    series_change_ratio: float | None
    baseline_4w: float | None
    """Mean head series at the end of each of the four weeks before the period."""
    vs_baseline_ratio: float | None
    metrics_start: int
    metrics_end: int
    new_metrics: int
    removed_metrics: int
    open_violations: int
    owners_with_violations: int
    first_census: datetime | None
    last_census: datetime | None
    notion: str | None


@dataclass(frozen=True)
class TrendPoint:
    t: float
    """Unix seconds."""
    series: float


@dataclass(frozen=True)
class TopMetric:
    metric: str
    owner: str
    series: int
    series_start: int | None
    change: float | None
    max_series: int
    usage: float
    read_by_rules: list[str]
    read_by_dashboards: list[str] | None
    """None when no dashboards are configured."""
    read_by_queries: int | None
    """Reads in the query log's window; None when the log does not cover it."""
    trend: list[TrendPoint]


@dataclass(frozen=True)
class Growth:
    metric: str
    owner: str
    series_start: int
    series_end: int
    change: int
    ratio: float | None
    cause: str
    """What the label drill-downs at both ends show: a new label, more values, more targets."""


@dataclass(frozen=True)
class NewMetric:
    metric: str
    owner: str
    series: int


@dataclass(frozen=True)
class RemovedMetric:
    metric: str
    owner: str
    series_start: int


@dataclass(frozen=True)
class JobShare:
    """A job that sends the metric's series (the period's last job census)."""

    job: str
    series: int


@dataclass(frozen=True)
class Violation:
    metric: str
    """The metric, or the job for the job kinds."""
    owner: str
    kind: str
    label: str | None
    window: str | None
    series: int
    max_series: int
    value: float
    limit: float
    since: datetime
    weeks_open: float
    carried_over: bool
    resolved_at: datetime | None
    jobs: list[JobShare]


@dataclass(frozen=True)
class LabelPolicyViolation:
    owner: str
    metric: str
    label: str | None
    values: int
    series: int
    series_without: int | None
    """Series the metric keeps once the label is removed at the source; a relabeling that removes it merges
    the rest (docs/fixes.md), so this is never a saving to paste."""
    since: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class TargetSize:
    instance: str
    series: int


@dataclass(frozen=True)
class JobGrowth:
    job: str
    owner: str
    series_start: int | None
    series_end: int
    change: int
    series_added: int
    top_targets: list[TargetSize]


@dataclass(frozen=True)
class UnprotectedJob:
    job: str
    owner: str
    series: int
    largest_target_samples: int


@dataclass(frozen=True)
class JobNearLimit:
    job: str
    owner: str
    target: str
    samples: int
    sample_limit: int | None
    usage: float | None
    limit_seconds: float | None


@dataclass(frozen=True)
class Jobs:
    growth: list[JobGrowth]
    unprotected: list[UnprotectedJob]
    near_limit: list[JobNearLimit]


@dataclass(frozen=True)
class SuggestionRow:
    """A remedy (docs/fixes.md): ``config`` is None wherever pasting something would merge series or break a
    reader; ``series_saved`` counts only series a safe remedy drops whole."""

    owner: str
    metric: str
    action: str
    label: str | None
    safe: bool
    verdict: str
    """The remedy in a few words: safe and what it keeps, or why nothing is printed to paste."""
    proof: Proof
    series_now: int
    predicted_series: int | None
    series_saved: int | None
    blocked_by: list[Reader]
    config: str | None
    stream_aggregation: str | None
    recording_rule: str | None
    note: str
    jobs: list[JobShare]


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    hours: float


@dataclass(frozen=True)
class Completeness:
    expected_cycles: int
    successful_cycles: int
    failed_cycles: dict[str, int]
    """Failed cycles by reason."""
    truncated_censuses: int
    gaps: list[Gap]
    complete: bool


@dataclass(slots=True)
class CsvRow:
    """One row of the CSV: a metric (``scope`` metric; ``jobs``: who sent it) or a job (``scope`` job).

    Not frozen: a report builds one per metric, and a frozen dataclass sets each field through
    ``object.__setattr__`` (6x the time of a dict for 10,000 rows; measured for issue 26).
    """

    metric: str
    owner: str
    series_start: int | None
    series_end: int | None
    change: float | None
    max_series: int | None
    usage: float | None
    scope: str
    jobs: str
    violations: str
    new: bool
    removed: bool
    read_by_rules: int | None = None
    read_by_dashboards: int | None = None
    labels_not_allowed: str | None = None
    targets: int | None = None
    series_added: int | None = None
    largest_target: str | None = None
    largest_target_samples: int | None = None
    sample_limit: int | None = None
    limit_usage: float | None = None
    limit_seconds: float | None = None
    forecast_date: datetime | None = None
    projected_series: int | None = None


@dataclass(frozen=True)
class UnusedMetric:
    """A drop candidate: nothing read it in the window (measured), or no rule or dashboard does (a guess)."""

    metric: str
    owner: str
    series: int
    series_saved: int
    last_queried: datetime | None
    evidence: str
    relabel: str


@dataclass(frozen=True)
class UsageNote:
    query_log: bool
    days_covered: float | None
    window_days: float | None
    known: bool
    """The log covers the whole window: "unused" is measured, not guessed."""
    note: str


@dataclass(frozen=True)
class OwnerScore:
    owner: str
    series_start: int
    series_end: int
    open_violations: int
    unused_series: int
    change: int
    budget_usage: float | None
    cost_month: float | None
    unused_cost_month: float | None

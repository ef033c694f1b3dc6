"""The report's look ahead and back as types: the 30-day forecast, the quarter, the regressions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auditor.evaluate.report_sections import Completeness


@dataclass(frozen=True)
class Projection:
    """When a series reaches its limit at its trend: what a metric's and a job's forecast rows hold after their
    names (flat in the JSON)."""

    series: int
    max_series: int
    date: datetime
    days: float
    projected_series: int
    points: int
    spread: float
    confidence: str


@dataclass(frozen=True)
class MetricForecast:
    """A metric that reaches its budget within the horizon at its trend."""

    metric: str
    owner: str
    series: int
    max_series: int
    date: datetime
    days: float
    projected_series: int
    """Series at the horizon's end, at the trend."""
    points: int
    spread: float
    confidence: str


@dataclass(frozen=True)
class JobForecast:
    job: str
    owner: str
    series: int
    max_series: int
    date: datetime
    days: float
    projected_series: int
    points: int
    spread: float
    confidence: str


@dataclass(frozen=True)
class JobAtLimit:
    job: str
    date: datetime
    days: float


@dataclass(frozen=True)
class TotalForecast:
    series: int
    projected_series: int
    points: int
    spread: float


@dataclass(frozen=True)
class NotForecast:
    too_little_history: int
    flat_or_falling: int


@dataclass(frozen=True)
class Forecast:
    horizon_days: int
    metrics: list[MetricForecast]
    jobs: list[JobForecast]
    jobs_at_sample_limit: list[JobAtLimit]
    total_series: TotalForecast | None
    not_forecast: NotForecast


@dataclass(frozen=True)
class PeriodTotals:
    start: datetime
    end: datetime
    series: int | None
    metrics: int | None
    data_completeness: Completeness | None = None


@dataclass(frozen=True)
class QuarterGrower:
    metric: str
    series_earlier: int | None
    series_now: int
    change: int


@dataclass(frozen=True)
class OpenedResolved:
    opened: int
    resolved: int


@dataclass(frozen=True)
class QuarterViolations:
    earlier: OpenedResolved
    now: OpenedResolved


@dataclass(frozen=True)
class OwnerWeeks:
    owner: str
    violations: int
    median_weeks_open: float
    still_open: int


@dataclass(frozen=True)
class Quarter:
    earlier: PeriodTotals
    now: PeriodTotals
    top_growers: list[QuarterGrower]
    violations: QuarterViolations
    open_weeks: list[OwnerWeeks] | None = None


@dataclass(frozen=True)
class Regression:
    metric: str
    kind: str
    label: str
    owner: str
    resolved_at: datetime
    reopened_at: datetime
    open: bool
    weeks_held: float

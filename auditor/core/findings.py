"""The checks' verdicts, one type per kind: a metric finding names a metric (here), a job finding a job and a
target finding its job and the target (``core/job_findings.py``).

Every kind projects onto the same stored row (``subject``, ``detail``, ``window``, ``series``, ``max_series``,
``value``, ``limit``): the store, the spool and ``/metrics`` read that projection, the checks and the report read
the kind's own fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from auditor.core.durations import format_duration


class Kind(StrEnum):
    """The check that reported a finding (docs/checks/<kind>.md)."""

    SERIES = "series"
    GROWTH = "growth"
    LABEL = "label"
    LABEL_POLICY = "label_policy"
    JOB = "job"
    SCRAPE_LIMIT = "scrape_limit"
    UNPROTECTED_JOB = "unprotected_job"
    JOB_GROWTH = "job_growth"


class Severity(StrEnum):
    WARNING = "warning"
    EXCEEDED = "exceeded"


FindingKey = tuple[str, str, str, str, str]
"""(subject, kind, detail, growth window, severity): one finding's identity, in a cycle and in the store."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """What every kind has: whose it is and how bad. A kind adds what it is about."""

    kind: ClassVar[Kind]
    owner: str
    severity: Severity

    @property
    def subject(self) -> str:
        """The metric or the job the finding is about (the ``metric`` column of a stored finding)."""
        raise NotImplementedError

    @property
    def detail(self) -> str:
        """The label or the target within the subject; "" when the finding is about the whole subject."""
        return ""

    @property
    def window(self) -> timedelta | None:
        return None

    @property
    def series(self) -> int:
        raise NotImplementedError

    @property
    def max_series(self) -> int:
        raise NotImplementedError

    @property
    def value(self) -> float:
        raise NotImplementedError

    @property
    def limit(self) -> float:
        raise NotImplementedError

    @property
    def identity(self) -> FindingKey:
        """The same identity in the next cycle is the same (continuing) finding; stored rows have it too."""
        window = format_duration(self.window) if self.window else ""
        return self.subject, self.kind.value, self.detail, window, self.severity.value

    def describe(self) -> str:
        raise NotImplementedError


class Budgeted:
    """A subject with a series budget (a metric, a job with a ``jobs:`` entry): its projection onto the row.

    No fields of its own: each kind declares ``series_now`` and ``budget`` where its fields keep their order.
    """

    __slots__ = ()
    series_now: int
    budget: int

    @property
    def series(self) -> int:
        return self.series_now

    @property
    def max_series(self) -> int:
        return self.budget


@dataclass(frozen=True, kw_only=True)
class Grown:
    """A growth past its limit over a window (a metric's or a job's); put first among the bases."""

    over: timedelta
    growth: float
    max_growth: float

    @property
    def window(self) -> timedelta | None:
        return self.over

    @property
    def value(self) -> float:
        return self.growth

    @property
    def limit(self) -> float:
        return self.max_growth

    def grew(self) -> str:
        return f"grew {self.growth:+.0%} in {format_duration(self.over)}, limit +{self.max_growth:.0%}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricFinding(Budgeted, Finding):
    """A finding about one metric and its budget."""

    metric: str
    series_now: int
    budget: int
    """The metric's ``max_series``."""

    @property
    def subject(self) -> str:
        return self.metric


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesFinding(MetricFinding):
    """The metric holds more series than its budget, or most of it."""

    kind: ClassVar[Kind] = Kind.SERIES

    @property
    def value(self) -> float:
        return self.series_now

    @property
    def limit(self) -> float:
        return self.budget

    def describe(self) -> str:
        return f"{self.series_now:,} series, budget {self.budget:,} ({share(self.series_now, self.budget)})"


@dataclass(frozen=True, slots=True, kw_only=True)
class GrowthFinding(Grown, MetricFinding):
    """The metric grew more than ``max_growth`` over ``over``."""

    kind: ClassVar[Kind] = Kind.GROWTH

    def describe(self) -> str:
        return self.grew()


@dataclass(frozen=True, kw_only=True)
class Labelled:
    """A label of the metric and its distinct values; put first among the bases."""

    label: str
    values: int

    @property
    def detail(self) -> str:
        return self.label

    @property
    def value(self) -> float:
        return self.values


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelFinding(Labelled, MetricFinding):
    """One label of the metric has more distinct values than its limit, or most of it."""

    kind: ClassVar[Kind] = Kind.LABEL
    max_values: int

    @property
    def limit(self) -> float:
        return self.max_values

    def describe(self) -> str:
        return f"label {self.label} has {self.values:,} values, limit {self.max_values:,}"


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelPolicyFinding(Labelled, MetricFinding):
    """The metric carries a label the label policy does not allow."""

    kind: ClassVar[Kind] = Kind.LABEL_POLICY

    @property
    def limit(self) -> float:
        return 0

    def describe(self) -> str:
        return f"label {self.label} ({self.values:,} values) is not allowed by the label policy"


JOB_KINDS = frozenset({Kind.JOB, Kind.SCRAPE_LIMIT, Kind.UNPROTECTED_JOB, Kind.JOB_GROWTH})
"""Kinds about a scrape job: their stored ``metric`` column holds the job's name."""


def share(value: float, of: float) -> str:
    return f"{value / of:.0%}" if of else "none allowed"


@dataclass(frozen=True, slots=True)
class FindingRow:
    """A stored finding with its whole life: first seen, last seen, resolved (None while it is open).

    ``metric`` is the stored subject column: a job's name for the kinds of ``JOB_KINDS``.
    """

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

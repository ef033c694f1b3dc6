"""What the checks read and what they produce. Pure data: no I/O anywhere in ``evaluate/``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from auditor.budgets import Budget, Budgets
from auditor.domain import Census
from auditor.durations import format_duration


class Kind(StrEnum):
    SERIES = "series"
    GROWTH = "growth"
    LABEL = "label"


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


@dataclass(frozen=True)
class EvaluationInput:
    """Everything the checks need about one source at one instant."""

    census: Census
    budgets: Budgets
    labels: dict[str, dict[str, LabelStats]] = field(default_factory=dict)
    """metric -> label -> drill-down, for the metrics drilled down this cycle."""
    baselines: dict[timedelta, dict[str, int]] = field(default_factory=dict)
    """window -> metric -> hourly maximum of the series count one window ago (same series notion)."""
    recent_max: dict[str, int] = field(default_factory=dict)
    """metric -> maximum series count over the last hour, this census included."""
    trends: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """metric -> (unix seconds, hourly maximum) points for forecasts, oldest first."""

    @property
    def now(self) -> datetime:
        return self.census.collected_at

    def budget(self, metric: str) -> Budget:
        return self.budgets.for_metric(metric)


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
    def key(self) -> tuple[str, str, str, str]:
        """Identity across cycles: the same key in the next cycle is the same (continuing) finding."""
        window = format_duration(self.window) if self.window else ""
        return self.metric, self.kind.value, self.label, window

    def describe(self) -> str:
        if self.kind is Kind.SERIES:
            return f"{self.series:,} series, budget {self.max_series:,} ({self.value / self.max_series:.0%})"
        if self.kind is Kind.GROWTH:
            assert self.window is not None
            return f"grew {self.value:+.0%} in {format_duration(self.window)}, limit +{self.limit:.0%}"
        return f"label {self.label} has {self.value:,.0f} values, limit {self.limit:,.0f}"

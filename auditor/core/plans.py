"""A recorded plan: what ``plan --record`` predicted a job would send of a metric, and what the cycles after the
deploy measured (docs/plan.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RecordedPlan:
    id: int
    source: str
    job: str
    metric: str
    predicted_series: int
    recorded_at: datetime
    measured_series: int | None = None
    """``count({__name__="m", job="J"})`` at the last observation; None before one."""
    measured_at: datetime | None = None

    @property
    def error_ratio(self) -> float | None:
        """(measured - predicted) / predicted; None before a measurement of a deployed job (0 series)."""
        if not self.measured_series:
            return None
        if self.predicted_series == 0:
            return None
        return (self.measured_series - self.predicted_series) / self.predicted_series

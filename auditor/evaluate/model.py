"""What the checks read and what they produce. Pure data: no I/O anywhere in ``evaluate/``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from auditor.core.budgets import Budget, Budgets
from auditor.core.domain import Census, LabelStats
from auditor.core.findings import Finding, Kind, Severity
from auditor.core.jobs import JobCensus, JobStats


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
    jobs: JobCensus | None = None
    """The job census of the cycle; None when it was not taken."""
    job_baselines: dict[timedelta, dict[str, int]] = field(default_factory=dict)
    """window -> job -> hourly maximum of its series one window ago."""
    job_recent_max: dict[str, int] = field(default_factory=dict)
    """job -> maximum series over this clock hour, this census included."""
    job_trends: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    """job -> (unix seconds, the largest target's hourly maximum) points, oldest first: the sample_limit forecast."""

    @property
    def now(self) -> datetime:
        return self.census.collected_at

    def budget(self, metric: str) -> Budget:
        return self.budgets.for_metric(metric)

    def budgeted_jobs(self) -> Iterator[tuple[JobStats, Budget]]:
        """Each job of the census that a ``jobs:`` entry covers, with its budget."""
        for stats in self.jobs.jobs.values() if self.jobs else ():
            if (budget := self.budgets.for_job(stats.job)) is not None:
                yield stats, budget


__all__ = ["EvaluationInput", "Finding", "Kind", "LabelStats", "Severity"]

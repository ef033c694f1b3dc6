"""The findings about a scrape job: its budget, its growth, its largest target against ``sample_limit``, and a
job without one. No per-metric fix applies to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from auditor.core.findings import Budgeted, Finding, Grown, Kind, share


@dataclass(frozen=True, slots=True, kw_only=True)
class JobFinding(Finding):
    """A finding about one scrape job: no per-metric fix applies."""

    job: str

    @property
    def subject(self) -> str:
        return self.job


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetedJobFinding(Budgeted, JobFinding):
    """A finding about a job with a ``jobs:`` entry: its series and its budget."""

    series_now: int
    budget: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobBudgetFinding(BudgetedJobFinding):
    """The job sends more series than its ``jobs:`` entry allows, or most of it."""

    kind: ClassVar[Kind] = Kind.JOB

    @property
    def value(self) -> float:
        return self.series_now

    @property
    def limit(self) -> float:
        return self.budget

    def describe(self) -> str:
        used = share(self.series_now, self.budget)
        return f"job {self.job}: {self.series_now:,} series, budget {self.budget:,} ({used})"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobGrowthFinding(Grown, BudgetedJobFinding):
    """The job grew more than its ``jobs:`` entry's ``max_growth`` over ``over``."""

    kind: ClassVar[Kind] = Kind.JOB_GROWTH

    def describe(self) -> str:
        return f"job {self.job} {self.grew()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScrapeLimitFinding(JobFinding):
    """The job's largest target sends most of its ``sample_limit``, or more (its scrapes fail)."""

    kind: ClassVar[Kind] = Kind.SCRAPE_LIMIT
    target: str
    samples: int
    sample_limit: int

    @property
    def detail(self) -> str:
        return self.target

    @property
    def series(self) -> int:
        return self.samples

    @property
    def max_series(self) -> int:
        return self.sample_limit

    @property
    def value(self) -> float:
        return self.samples / self.sample_limit

    @property
    def limit(self) -> float:
        return 1.0

    def describe(self) -> str:
        return (
            f"job {self.job}: target {self.target} sends {self.samples:,} samples, "
            f"{self.value:.0%} of its sample_limit {self.sample_limit:,}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UnprotectedJobFinding(JobFinding):
    """The job has no ``sample_limit``: one bad deploy can fill the head."""

    kind: ClassVar[Kind] = Kind.UNPROTECTED_JOB
    largest_target_samples: int

    @property
    def series(self) -> int:
        return self.largest_target_samples

    @property
    def max_series(self) -> int:
        return 0

    @property
    def value(self) -> float:
        return self.largest_target_samples

    @property
    def limit(self) -> float:
        return 0

    def describe(self) -> str:
        return f"job {self.job} has no sample_limit (largest target: {self.largest_target_samples:,} samples)"

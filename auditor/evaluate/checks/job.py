"""Job budget: a scrape job sends more series than its ``jobs:`` entry allows (summed over its targets)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import Severity
from auditor.core.job_findings import JobBudgetFinding
from auditor.evaluate.model import EvaluationInput

NAME = "job"


def check(inp: EvaluationInput) -> Iterator[JobBudgetFinding]:
    for stats, budget in inp.budgeted_jobs():
        if stats.series > budget.max_series:
            severity = Severity.EXCEEDED
        elif stats.series >= budget.warn_ratio * budget.max_series:
            severity = Severity.WARNING
        else:
            continue
        yield JobBudgetFinding(
            job=stats.job, owner=budget.owner, severity=severity, series_now=stats.series, budget=budget.max_series
        )

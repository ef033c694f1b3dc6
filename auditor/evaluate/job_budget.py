"""Job budget: a scrape job sends more series than its ``jobs:`` entry allows (summed over its targets)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "job"


def check(inp: EvaluationInput) -> Iterator[Finding]:
    for stats, budget in inp.budgeted_jobs():
        if stats.series > budget.max_series:
            severity = Severity.EXCEEDED
        elif stats.series >= budget.warn_ratio * budget.max_series:
            severity = Severity.WARNING
        else:
            continue
        yield Finding(stats.job, budget.owner, Kind.JOB, severity, stats.series, budget.max_series, stats.series,
                      budget.max_series)  # fmt: skip

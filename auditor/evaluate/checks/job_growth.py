"""Job growth: a scrape job grew more than its ``jobs:`` entry allows over a window (e.g. +50 % in 7 days).

Like the metric growth check, both ends are hourly maxima: this hour's against the hour one window ago.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import Severity
from auditor.core.job_findings import JobGrowthFinding
from auditor.evaluate.model import EvaluationInput

NAME = "job_growth"


def check(inp: EvaluationInput) -> Iterator[JobGrowthFinding]:
    for stats, budget in inp.budgeted_jobs():
        job = stats.job
        current = max(stats.series, inp.job_recent_max.get(job, 0))
        if current < budget.growth_min_series:
            continue
        for window, limit in budget.max_growth.items():
            baseline = inp.job_baselines.get(window, {}).get(job)
            if not baseline:
                continue  # the job is newer than the window, or the history is
            if (ratio := current / baseline - 1) > limit:
                yield JobGrowthFinding(
                    job=job, owner=budget.owner, severity=Severity.EXCEEDED, series_now=stats.series,
                    budget=budget.max_series, over=window, growth=ratio, max_growth=limit,
                )  # fmt: skip

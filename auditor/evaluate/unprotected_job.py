"""Unprotected job: a scrape job without ``sample_limit``, where one bad deploy can fill the head."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "unprotected_job"


def check(inp: EvaluationInput) -> Iterator[Finding]:
    if inp.jobs is None:
        return
    for job, stats in inp.jobs.jobs.items():
        if stats.sample_limit == 0 and stats.targets > 0:
            yield Finding(job, inp.budgets.job_owner(job), Kind.UNPROTECTED_JOB, Severity.WARNING,
                          stats.largest_target_series, 0, stats.largest_target_series, 0)  # fmt: skip

"""Unprotected job: a scrape job without ``sample_limit``, where one bad deploy can fill the head."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import Severity
from auditor.core.job_findings import UnprotectedJobFinding
from auditor.evaluate.model import EvaluationInput

NAME = "unprotected_job"


def check(inp: EvaluationInput) -> Iterator[UnprotectedJobFinding]:
    for job, stats in inp.jobs.jobs.items() if inp.jobs else ():
        if stats.sample_limit == 0 and stats.targets > 0:
            yield UnprotectedJobFinding(
                job=job, owner=inp.budgets.job_owner(job), severity=Severity.WARNING,
                largest_target_samples=stats.largest_target_series,
            )  # fmt: skip

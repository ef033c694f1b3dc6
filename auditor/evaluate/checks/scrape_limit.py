"""Scrape limit: a job's largest target is near its ``sample_limit`` (a warning) or over it (scrapes fail)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import Severity
from auditor.core.job_findings import ScrapeLimitFinding
from auditor.evaluate.model import EvaluationInput

NAME = "scrape_limit"
NEAR = 0.8
"""From this share of the limit on; over the limit Prometheus fails the whole scrape."""


def check(inp: EvaluationInput) -> Iterator[ScrapeLimitFinding]:
    for job, stats in inp.jobs.jobs.items() if inp.jobs else ():
        usage, limit = stats.limit_usage, stats.sample_limit
        if usage is None or not limit or usage < NEAR or not stats.largest_targets:
            continue
        target = stats.largest_targets[0]
        yield ScrapeLimitFinding(
            job=job, owner=inp.budgets.job_owner(job), severity=Severity.EXCEEDED if usage > 1 else Severity.WARNING,
            target=target.instance, samples=target.series, sample_limit=limit,
        )  # fmt: skip

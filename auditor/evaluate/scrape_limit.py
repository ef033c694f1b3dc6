"""Scrape limit: a job's largest target is near its ``sample_limit`` (a warning) or over it (scrapes fail)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "scrape_limit"
NEAR = 0.8
"""From this share of the limit on; over the limit Prometheus fails the whole scrape."""


def check(inp: EvaluationInput) -> Iterator[Finding]:
    if inp.jobs is None:
        return
    for job, stats in inp.jobs.jobs.items():
        usage, limit = stats.limit_usage, stats.sample_limit
        if usage is None or not limit or usage < NEAR or not stats.largest_targets:
            continue
        severity = Severity.EXCEEDED if usage > 1 else Severity.WARNING
        target = stats.largest_targets[0]
        yield Finding(job, inp.budgets.job_owner(job), Kind.SCRAPE_LIMIT, severity, target.series, limit, usage, 1.0,
                      label=target.instance)  # fmt: skip

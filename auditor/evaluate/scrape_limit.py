"""Scrape limit: a job's largest target is near its ``sample_limit`` (a warning) or over it (scrapes fail)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from auditor.core.jobs import JobCensus, JobStats
from auditor.evaluate.forecast import seconds_to_budget
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


Points = list[tuple[float, float]]


def seconds_to_limit(stats: JobStats, points: Points) -> float | None:
    """Seconds until the job's largest target reaches its ``sample_limit`` at the fitted rate (the metric budgets'
    forecast over the largest target's hourly maxima); None without a limit or a rising trend, 0 once reached."""
    limit = stats.sample_limit
    if not limit or not points:
        return None
    return seconds_to_budget(points, stats.largest_target_series, limit)


def forecasts(inp: EvaluationInput) -> dict[str, float]:
    """job -> seconds until its largest target reaches the ``sample_limit``, for the jobs on their way there."""
    return {} if inp.jobs is None else _on_their_way(inp.jobs, inp.job_trends)


def limit_forecasts(census: JobCensus, hours: dict[str, list[tuple[datetime, int, int]]]) -> dict[str, float]:
    """``forecasts`` from stored job hours (``jobs``, the report): no cycle needed."""
    return _on_their_way(census, target_trends(census, hours))


def target_trends(census: JobCensus, hours: dict[str, list[tuple[datetime, int, int]]]) -> dict[str, Points]:
    """job with a ``sample_limit`` -> (unix seconds, its largest target's hourly maximum), from stored job hours."""
    return {
        job: [(at.timestamp(), float(target)) for at, _, target in hours.get(job, [])]
        for job, stats in census.jobs.items() if stats.sample_limit
    }  # fmt: skip


def _on_their_way(census: JobCensus, trends: dict[str, Points]) -> dict[str, float]:
    found = {job: seconds_to_limit(stats, trends.get(job, [])) for job, stats in census.jobs.items()}
    return {job: eta for job, eta in found.items() if eta is not None}

"""Forecast: when will a metric reach its budget, or a job's largest target its ``sample_limit``, at the current rate?

A Theil-Sen slope (the median of pairwise slopes) over hourly maxima: one compaction dip or
one burst does not swing it the way a least-squares line or two points would.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from auditor.core.jobs import JobCensus, JobStats
from auditor.evaluate.model import EvaluationInput

MIN_POINTS = 6
MIN_SPAN_SECONDS = 3 * 3600
MAX_POINTS = 96


def theil_sen_slope(points: Sequence[tuple[float, float]]) -> float:
    """Median slope over all pairs of points with distinct x.

    >>> theil_sen_slope([(0, 0), (1, 2), (2, 4), (3, 6), (4, 100)])
    2.0
    """
    slopes = _slopes(points)
    return statistics.median(slopes) if slopes else 0.0


@dataclass(frozen=True, slots=True)
class Fit:
    """A trend: its slope (per second), how many points it used, and how much the pairwise slopes disagree."""

    slope: float
    points: int
    spread: float
    """Interquartile range of the pairwise slopes over the median's size: 0 for a straight line."""


def fit(points: Sequence[tuple[float, float]]) -> Fit | None:
    """The Theil-Sen trend of ``points``; None with too little history (``MIN_POINTS`` over ``MIN_SPAN_SECONDS``)."""
    if len(points) < MIN_POINTS or points[-1][0] - points[0][0] < MIN_SPAN_SECONDS:
        return None
    used = _thin(points)
    slopes = sorted(_slopes(used))
    if not slopes:
        return None
    median = statistics.median(slopes)
    q1, _, q3 = statistics.quantiles(slopes, n=4) if len(slopes) > 1 else (median, median, median)
    return Fit(median, len(used), (q3 - q1) / abs(median) if median else float("inf"))


def _slopes(points: Sequence[tuple[float, float]]) -> list[float]:
    return [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1 :] if x2 != x1]


def seconds_to_budget(points: Sequence[tuple[float, float]], current: int, max_series: int) -> float | None:
    """Seconds until ``current`` reaches ``max_series`` at the fitted rate; None when not growing.

    0 when the budget is already reached.
    """
    if current >= max_series:
        return 0.0
    trend = fit(points)
    if trend is None or trend.slope <= 0:
        return None
    return (max_series - current) / trend.slope


def _thin(points: Sequence[tuple[float, float]]) -> Sequence[tuple[float, float]]:
    """At most ``MAX_POINTS`` evenly spaced points: the fit is quadratic in their number."""
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    return [points[int(i * step)] for i in range(MAX_POINTS)] + [points[-1]]


NAME = "forecast"


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetForecast:
    """A metric on its way to its budget: ``seconds`` until it reaches it (0 once reached)."""

    metric: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleLimitForecast:
    """A job whose largest target is on its way to the job's ``sample_limit``."""

    job: str
    seconds: float


Forecast = BudgetForecast | SampleLimitForecast
Points = list[tuple[float, float]]


def check(inp: EvaluationInput) -> Iterator[Forecast]:
    """Every metric with a trend and every job with a ``sample_limit`` on its way to its limit."""
    for metric, series in inp.census.metrics.items():
        points = inp.trends.get(metric)
        eta = seconds_to_budget(points, series, inp.budget(metric).max_series) if points else None
        if eta is not None:
            yield BudgetForecast(metric=metric, seconds=eta)
    if inp.jobs is not None:
        for job, eta in _on_their_way(inp.jobs, inp.job_trends).items():
            yield SampleLimitForecast(job=job, seconds=eta)


def seconds_to_limit(stats: JobStats, points: Points) -> float | None:
    """Seconds until the job's largest target reaches its ``sample_limit`` at the fitted rate (the metric budgets'
    forecast over the largest target's hourly maxima); None without a limit or a rising trend, 0 once reached."""
    limit = stats.sample_limit
    if not limit or not points:
        return None
    return seconds_to_budget(points, stats.largest_target_series, limit)


def limit_forecasts(census: JobCensus, hours: dict[str, list[tuple[datetime, int, int]]]) -> dict[str, float]:
    """job -> seconds to its ``sample_limit`` from stored job hours (``jobs``, the report): no cycle needed."""
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

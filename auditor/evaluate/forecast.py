"""When will a metric reach its budget at its current rate?

A Theil-Sen slope (the median of pairwise slopes) over hourly maxima: one compaction dip or
one burst does not swing it the way a least-squares line or two points would.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

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

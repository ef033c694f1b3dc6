"""When will a metric reach its budget at its current rate?

A Theil-Sen slope (the median of pairwise slopes) over hourly maxima: one compaction dip or
one burst does not swing it the way a least-squares line or two points would.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

MIN_POINTS = 6
MIN_SPAN_SECONDS = 3 * 3600
MAX_POINTS = 96


def theil_sen_slope(points: Sequence[tuple[float, float]]) -> float:
    """Median slope over all pairs of points with distinct x.

    >>> theil_sen_slope([(0, 0), (1, 2), (2, 4), (3, 100)])
    2.0
    """
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1 :] if x2 != x1]
    return statistics.median(slopes) if slopes else 0.0


def seconds_to_budget(points: Sequence[tuple[float, float]], current: int, max_series: int) -> float | None:
    """Seconds until ``current`` reaches ``max_series`` at the fitted rate; None when not growing.

    0 when the budget is already reached.
    """
    if current >= max_series:
        return 0.0
    if len(points) < MIN_POINTS or points[-1][0] - points[0][0] < MIN_SPAN_SECONDS:
        return None
    slope = theil_sen_slope(_thin(points))
    if slope <= 0:
        return None
    return (max_series - current) / slope


def _thin(points: Sequence[tuple[float, float]]) -> Sequence[tuple[float, float]]:
    """At most ``MAX_POINTS`` evenly spaced points: the fit is quadratic in their number."""
    if len(points) <= MAX_POINTS:
        return points
    step = len(points) / MAX_POINTS
    return [points[int(i * step)] for i in range(MAX_POINTS)] + [points[-1]]

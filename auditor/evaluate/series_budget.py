"""Series budget: a metric holds more series than its budget (exceeded) or most of it (warning)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "series"


def usage(series: int, max_series: int) -> float:
    """Share of the budget in use; a zero budget is infinitely exceeded by any series."""
    if max_series == 0:
        return float("inf") if series else 0.0
    return series / max_series


def check(inp: EvaluationInput) -> Iterator[Finding]:
    for metric, series in inp.census.metrics.items():
        budget = inp.budget(metric)
        ratio = usage(series, budget.max_series)
        if ratio > 1:
            severity = Severity.EXCEEDED
        elif ratio >= budget.warn_ratio:
            severity = Severity.WARNING
        else:
            continue
        yield Finding(metric, budget.owner, Kind.SERIES, severity, series, budget.max_series, series, budget.max_series)

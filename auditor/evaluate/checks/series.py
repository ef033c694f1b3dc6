"""Series budget: a metric holds more series than its budget (exceeded) or most of it (warning)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.budgets import Budget
from auditor.core.findings import SeriesFinding, Severity
from auditor.evaluate.model import EvaluationInput

NAME = "series"


def usage(series: int, max_series: int) -> float:
    """Share of the budget in use; a zero budget is infinitely exceeded by any series."""
    if max_series == 0:
        return float("inf") if series else 0.0
    return series / max_series


def severity_of(ratio: float, budget: Budget) -> Severity | None:
    """Exceeded over the budget, a warning from ``warn_ratio`` on (exactly at budget included), else none."""
    if ratio > 1:
        return Severity.EXCEEDED
    return Severity.WARNING if ratio >= budget.warn_ratio else None


def check(inp: EvaluationInput) -> Iterator[SeriesFinding]:
    for metric, series in inp.census.metrics.items():
        budget = inp.budget(metric)
        if (severity := severity_of(usage(series, budget.max_series), budget)) is None:
            continue
        yield SeriesFinding(
            metric=metric, owner=budget.owner, severity=severity, series_now=series, budget=budget.max_series
        )

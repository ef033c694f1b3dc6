"""Which metrics deserve a closer look this cycle (label drill-down, forecasts, attribution to jobs)."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.core.budgets import Budgets
from auditor.core.domain import Census
from auditor.core.findings import Finding, GrowthFinding, Kind, Severity
from auditor.evaluate.checks.series import usage

FORECAST_MIN_USAGE = 0.5


def drilldown_targets(census: Census, budgets: Budgets, top_n: int) -> list[str]:
    """Over or near budget first (by usage), then metrics with label budgets, then the top-N by series."""
    ranked = census.ranked()
    near, labelled = [], []
    for metric, series in ranked:
        budget = budgets.for_metric(metric)
        ratio = usage(series, budget.max_series)
        if ratio >= budget.warn_ratio:
            near.append((ratio, metric))
        if budget.labels and budget.explicit:
            labelled.append(metric)
    over = [metric for _, metric in sorted(near, key=lambda item: -item[0])]
    top = [metric for metric, _ in ranked[:top_n]]
    return list(dict.fromkeys([*over, *labelled, *top]))


def forecast_targets(census: Census, budgets: Budgets) -> list[str]:
    """Budgeted metrics (an entry of their own) and any metric past half of its budget."""
    return [
        metric
        for metric, series in census.metrics.items()
        if budgets.for_metric(metric).explicit
        or usage(series, budgets.for_metric(metric).max_series) >= FORECAST_MIN_USAGE
    ]


def offenders(census: Census, findings: Iterable[Finding]) -> list[str]:
    """The metrics whose senders are worth naming: over budget (largest first), then grown too fast (fastest first)."""
    over = sorted({f.subject for f in findings if f.kind is Kind.SERIES and f.severity is Severity.EXCEEDED},
                  key=lambda m: (-census.metrics.get(m, 0), m))  # fmt: skip
    growth: dict[str, float] = {}
    for f in findings:
        if isinstance(f, GrowthFinding):
            growth[f.metric] = max(growth.get(f.metric, 0.0), f.growth)
    grown = sorted(growth, key=lambda m: (-growth[m], m))
    return list(dict.fromkeys([*over, *grown]))

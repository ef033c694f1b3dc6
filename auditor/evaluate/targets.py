"""Which metrics deserve a closer look this cycle (label drill-down, forecasts)."""

from __future__ import annotations

from auditor.core.budgets import Budgets
from auditor.core.domain import Census
from auditor.evaluate.series_budget import usage

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

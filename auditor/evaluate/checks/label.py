"""Label budget: one label of a metric has more distinct values than allowed (e.g. ``user_id`` <= 100)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import LabelFinding, Severity
from auditor.evaluate.model import EvaluationInput

NAME = "label"


def check(inp: EvaluationInput) -> Iterator[LabelFinding]:
    for metric, labels in inp.labels.items():
        budget = inp.budget(metric)
        series = inp.census.metrics.get(metric, 0)
        for label, max_values in budget.labels.items():
            if (stats := labels.get(label)) is None:
                continue
            if stats.values > max_values:
                severity = Severity.EXCEEDED
            elif stats.values >= budget.warn_ratio * max_values:
                severity = Severity.WARNING
            else:
                continue
            yield LabelFinding(
                metric=metric, owner=budget.owner, severity=severity, series_now=series, budget=budget.max_series,
                label=label, values=stats.values, max_values=max_values,
            )  # fmt: skip

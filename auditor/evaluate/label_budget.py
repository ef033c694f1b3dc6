"""Label budget: one label of a metric has more distinct values than allowed (e.g. ``user_id`` <= 100)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "label"


def check(inp: EvaluationInput) -> Iterator[Finding]:
    for metric, labels in inp.labels.items():
        budget = inp.budget(metric)
        series = inp.census.metrics.get(metric, 0)
        for label, max_values in budget.labels.items():
            stats = labels.get(label)
            if stats is None:
                continue
            if stats.values > max_values:
                severity = Severity.EXCEEDED
            elif stats.values >= budget.warn_ratio * max_values:
                severity = Severity.WARNING
            else:
                continue
            yield Finding(
                metric, budget.owner, Kind.LABEL, severity, series, budget.max_series, stats.values, max_values,
                label=label,
            )  # fmt: skip

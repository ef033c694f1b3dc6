"""Label policy: a metric carries a label its budget entry denies, or one outside its allowed list."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "label_policy"


def check(inp: EvaluationInput) -> Iterator[Finding]:
    for metric, labels in inp.labels.items():
        budget = inp.budget(metric)
        series = inp.census.metrics.get(metric, 0)
        for label in sorted(labels):
            if budget.forbids(label) and labels[label].values > 0:
                yield Finding(
                    metric, budget.owner, Kind.LABEL_POLICY, Severity.EXCEEDED, series, budget.max_series,
                    labels[label].values, 0, label=label,
                )  # fmt: skip

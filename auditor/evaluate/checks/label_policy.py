"""Label policy: a metric carries a label its budget entry denies, or one outside its allowed list."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import LabelPolicyFinding, Severity
from auditor.evaluate.model import EvaluationInput

NAME = "label_policy"


def check(inp: EvaluationInput) -> Iterator[LabelPolicyFinding]:
    for metric, labels in inp.labels.items():
        budget = inp.budget(metric)
        series = inp.census.metrics.get(metric, 0)
        for label in sorted(labels):
            if budget.forbids(label) and labels[label].values > 0:
                yield LabelPolicyFinding(
                    metric=metric, owner=budget.owner, severity=Severity.EXCEEDED, series_now=series,
                    budget=budget.max_series, label=label, values=labels[label].values,
                )  # fmt: skip

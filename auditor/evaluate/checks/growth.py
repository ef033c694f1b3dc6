"""Growth: a metric grew more than its limit over a window (e.g. +20 % in 7 days).

Both ends are hourly maxima of the same series notion: a raw point right after a head
compaction would otherwise show a fall, and one right before it a jump (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.core.findings import GrowthFinding, Severity
from auditor.evaluate.model import EvaluationInput

NAME = "growth"


def check(inp: EvaluationInput) -> Iterator[GrowthFinding]:
    for metric, series in inp.census.metrics.items():
        budget = inp.budget(metric)
        current = max(series, inp.recent_max.get(metric, 0))
        if current < budget.growth_min_series:
            continue
        for window, limit in budget.max_growth.items():
            baseline = inp.baselines.get(window, {}).get(metric)
            if not baseline:
                continue  # no comparable sample one window ago: new metric or young history
            if (ratio := current / baseline - 1) > limit:
                yield GrowthFinding(
                    metric=metric, owner=budget.owner, severity=Severity.EXCEEDED, series_now=series,
                    budget=budget.max_series, over=window, growth=ratio, max_growth=limit,
                )  # fmt: skip

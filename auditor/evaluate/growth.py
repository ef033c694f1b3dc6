"""Growth: a metric grew more than its limit over a window (e.g. +20 % in 7 days).

Both ends are hourly maxima of the same series notion: a raw point right after a head
compaction would otherwise show a fall, and one right before it a jump (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.evaluate.model import EvaluationInput, Finding, Kind, Severity

NAME = "growth"


def check(inp: EvaluationInput) -> Iterator[Finding]:
    for metric, series in inp.census.metrics.items():
        budget = inp.budget(metric)
        current = max(series, inp.recent_max.get(metric, 0))
        if current < budget.growth_min_series:
            continue
        for window, limit in budget.max_growth.items():
            baseline = inp.baselines.get(window, {}).get(metric)
            if not baseline:
                continue  # no comparable sample one window ago: new metric or young history
            ratio = current / baseline - 1
            if ratio > limit:
                yield Finding(
                    metric, budget.owner, Kind.GROWTH, Severity.EXCEEDED, series, budget.max_series, ratio, limit,
                    window=window,
                )  # fmt: skip

"""Self-metrics of the fix ledger: fixes per state, the series they saved, and the harmful ones (the alert's)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from auditor.core.budgets import Budgets
from auditor.core.fixes import FixSummary
from auditor.export.families import gauge, one_gauge

HARMFUL_CAP = 100
"""Harmful fixes exported one by one at most: each is a page, a hundred is an incident of its own."""


def fix_families(fixes: FixSummary, budgets: Budgets | None) -> Iterator[Metric]:
    yield gauge("fixes", "Fixes of the ledger by state (docs/fixes.md).",
                {(state.value,): n for state, n in fixes.states.items()}, ["state"])  # fmt: skip
    yield one_gauge(
        "fix_series_saved",
        "Active series fewer than before, over the fixes that landed and did no harm.",
        fixes.series_saved,
    )
    harmful: dict[tuple[str, ...], float] = {}
    for metric, _label in fixes.harmful[:HARMFUL_CAP]:
        harmful[(metric, budgets.for_metric(metric).owner if budgets else "unowned")] = 1
    yield gauge("fix_harmful", "1 per metric with an applied fix that merged series or made samples rejected.",
                harmful, ["metric", "owner"])  # fmt: skip

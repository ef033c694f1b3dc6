"""Self-metrics of the histogram inventory: what converting each classic histogram would save, and whether this
server stores what the switch produces (docs/histograms.md)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from auditor.core.budgets import Budgets
from auditor.core.histograms import Inventory
from auditor.export.families import gauge, one_gauge
from auditor.export.inputs import ExportCaps


def histogram_families(inventory: Inventory, budgets: Budgets | None, caps: ExportCaps) -> Iterator[Metric]:
    saved: dict[str, int] = {}
    for f in inventory.families:
        saved[f.metric] = saved.get(f.metric, 0) + f.saved
    largest = sorted(saved.items(), key=lambda kv: (-kv[1], kv[0]))[: caps.max_metrics]
    help_ = ("Series converting this classic histogram to a native one would save, over its jobs (the largest, "
             "within AUDITOR_EXPORT__MAX_METRICS).")  # fmt: skip
    yield gauge("histogram_series_saved", help_, {(m, _owner(budgets, m)): n for m, n in largest}, ["metric", "owner"])
    yield one_gauge("histogram_convertible_series_saved",
                    "Series converting every measured classic histogram would save.", sum(saved.values()))  # fmt: skip
    if inventory.support.native_histograms is not None:
        yield one_gauge("histogram_switch_stores",
                        "1 when this server stores what the switch to native histograms produces, else 0.",
                        float(inventory.support.native_histograms and inventory.support.switch))  # fmt: skip


def _owner(budgets: Budgets | None, metric: str) -> str:
    return budgets.for_metric(metric + "_bucket").owner if budgets is not None else "unowned"

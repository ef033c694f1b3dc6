"""Label-policy scan: every metric carrying a label the policy forbids somewhere, at a few queries per label.

1. ``/api/v1/labels``: the label names the server holds. Only labels that some scope of the policy
   forbids are looked at (``Budgets.policy_labels``); the rest cannot be a violation.
2. Per such label, one query names every metric carrying it, with the label's value count:
   ``count by (__name__) (count by (__name__, L) ({L!=""}))``. It touches only the series with that label.
3. Per label with violators, one query (per chunk of names) gives the series each would keep without it:
   ``count by (m) (count without (L) (label_replace({__name__=~"a|b"}, "m", "$1", "__name__", "(.+)")))``.
   ``without`` drops the metric name, so it is copied to a label first.

Queries and time are bounded per cycle; a label past a bound is skipped whole and reported, never
half-done. The next cycle starts with the labels skipped, so every label is seen within a few cycles, and
a skipped label keeps the figures of its last scan meanwhile (its violations do not flap).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from auditor.collect.census import Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.config.settings import LabelPolicySettings
from auditor.core.budgets import Budgets
from auditor.core.domain import LabelStats
from auditor.core.errors import PrometheusError, PrometheusTimeout, PrometheusUnreachable
from auditor.core.promql import label as promql_label
from auditor.core.promql import quote_meta, string

log = logging.getLogger(__name__)
NAME_COPY = "__auditor_metric__"
"""Carries the metric name through ``count without``, which drops ``__name__``."""
NAMES_PER_QUERY = 200


@dataclass
class PolicyScanResult:
    labels: dict[str, dict[str, LabelStats]] = field(default_factory=dict)
    """metric -> forbidden label -> value count and series without it, for the labels checked."""
    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Labels past a bound this cycle; those scanned in an earlier cycle keep that scan's figures."""
    queries: int = 0


class LabelPolicyScan:
    def __init__(
        self, client: PrometheusClient, settings: LabelPolicySettings, endpoints: OptionalEndpoints | None = None
    ) -> None:
        self._client = client
        self._settings = settings
        self._endpoints = endpoints or OptionalEndpoints()
        self._known: dict[str, dict[str, LabelStats]] = {}
        """label -> metric -> figures, from the last cycle that scanned the label."""
        self._resume: str | None = None

    def carry_over(self, old: LabelPolicyScan) -> None:
        """Keep what ``old`` knew (the daemon rebuilds the scan when its settings reload)."""
        self._known, self._resume = old._known, old._resume

    def run(self, budgets: Budgets, at: datetime, deadline: Deadline) -> PolicyScanResult:
        result = PolicyScanResult()
        if not budgets.has_label_policy:
            return result
        names = self._endpoints.call("/api/v1/labels", self._client.label_names, "the label-policy scan")
        if names is None:
            return result
        ends = time.monotonic() + self._settings.max_time.total_seconds()
        todo = self._rotated(budgets.policy_labels(names))
        for index, label in enumerate(todo):
            deadline.check()
            if result.queries + 2 > self._settings.max_queries or time.monotonic() >= ends:
                result.skipped.extend(todo[index:])
                break
            if not self._one(label, budgets, at, result):
                result.skipped.extend(todo[index:])
                break
        self._remember(result)
        if result.skipped:
            log.info("label-policy scan skipped %d labels (bounds: queries, time)", len(result.skipped))
        return result

    def _rotated(self, todo: list[str]) -> list[str]:
        """Start where the last cycle stopped."""
        if self._resume not in todo:
            return todo
        start = todo.index(self._resume)
        return todo[start:] + todo[:start]

    def _remember(self, result: PolicyScanResult) -> None:
        known: dict[str, dict[str, LabelStats]] = {label: {} for label in result.checked} | {
            label: self._known[label] for label in result.skipped if label in self._known
        }
        for metric, labels in result.labels.items():
            for label, stats in labels.items():
                known[label][metric] = stats
        for label in result.skipped:
            for metric, stats in known.get(label, {}).items():
                result.labels.setdefault(metric, {})[label] = stats
        self._known = known
        self._resume = result.skipped[0] if result.skipped else None

    def _one(self, label: str, budgets: Budgets, at: datetime, result: PolicyScanResult) -> bool:
        """Scan one label into ``result``; False when Prometheus is gone for this cycle."""
        try:
            values = self._values(label, at, result)
            violators = sorted(m for m in values if budgets.for_metric(m).forbids(label))
            without = self._series_without(label, violators, at, result)
        except (PrometheusUnreachable, PrometheusTimeout) as exc:
            self._endpoints.failed(exc, "the label-policy scan of this cycle")
            return False
        except PrometheusError as exc:
            self._endpoints.failed(exc, "the label-policy scan of such labels")
            result.skipped.append(label)
            return True
        self._endpoints.succeeded("/api/v1/query")
        for metric, count in values.items():
            result.labels.setdefault(metric, {})[label] = LabelStats(count, without.get(metric))
        result.checked.append(label)
        return True

    def _values(self, label: str, at: datetime, result: PolicyScanResult) -> dict[str, int]:
        name = promql_label(label)
        query = f'count by (__name__) (count by (__name__, {name}) ({{{name}!=""}}))'
        result.queries += 1
        return {m.get("__name__", ""): int(v) for m, v in self._client.query_vector(query, at) if m.get("__name__")}

    def _series_without(
        self, label: str, metrics: Sequence[str], at: datetime, result: PolicyScanResult
    ) -> dict[str, int]:
        out: dict[str, int] = {}
        for start in range(0, len(metrics), NAMES_PER_QUERY):
            chunk = metrics[start : start + NAMES_PER_QUERY]
            regex = string("|".join(quote_meta(m) for m in chunk))
            copied = f'label_replace({{__name__=~{regex}}}, "{NAME_COPY}", "$1", "__name__", "(.+)")'
            query = f"count by ({NAME_COPY}) (count without ({promql_label(label)}) ({copied}))"
            result.queries += 1
            out.update((m[NAME_COPY], int(v)) for m, v in self._client.query_vector(query, at) if NAME_COPY in m)
        return out


def merge_labels(
    drill: dict[str, dict[str, LabelStats]], policy: dict[str, dict[str, LabelStats]]
) -> dict[str, dict[str, LabelStats]]:
    """The drill-down's labels and the scan's: one label seen by both keeps the drill-down's count,
    with the scan's series-without when the drill-down has none."""
    out = {metric: dict(labels) for metric, labels in drill.items()}
    for metric, labels in policy.items():
        mine = out.setdefault(metric, {})
        for label, stats in labels.items():
            known = mine.get(label)
            if known is None:
                mine[label] = stats
            elif known.series_without is None:
                mine[label] = LabelStats(known.values, stats.series_without)
    return out

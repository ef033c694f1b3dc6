"""Label-policy scan: every metric carrying a label the policy forbids somewhere, at a few queries per label.

1. ``/api/v1/labels``: the label names the server holds. Only labels that some scope of the policy
   forbids are looked at (``Budgets.policy_labels``); the rest cannot be a violation.
2. Per such label, one query names every metric carrying it, with the label's value count:
   ``count by (__name__) (count by (__name__, L) ({L!=""}))``.
3. Per label with violators, two more: the series carrying it, ``count by (__name__) ({L!=""})``, and
   what they collapse to without it,
   ``count by (m) (count without (L) (label_replace({L!=""}, "m", "$1", "__name__", "(.+)")))``
   (``without`` drops the metric name, so it is copied to a label first). The difference is the series that
   removing the label would merge into others (docs/fixes.md). It is exact unless a series collapses onto
   one that never had the label, and then a lower bound: so the pair is kept as a proof (``series_with``)
   only for metrics whose every series carries the label.

Every query selects ``{L!=""}``: it touches only the series that carry the label, whatever the number
of metrics.

A label is scanned again once its last scan is ``interval`` old (default 1h): labels change slowly,
and a scan of a label held by 60,000 series costs Prometheus about as much CPU as a census. In between,
the daemon keeps the label's last figures, so its violations stay in force without flapping. A label
the file newly forbids is scanned at the next cycle. Queries and time are bounded per cycle; a label
past a bound is skipped whole, reported, and is first in line next cycle (never scanned labels first,
then the oldest scans).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from auditor.collect.bounds import LabelPolicyBounds
from auditor.collect.census import Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.core.budgets import Budgets
from auditor.core.domain import LabelStats
from auditor.core.errors import PrometheusError, PrometheusTimeout, PrometheusUnreachable
from auditor.core.promql import label as promql_label

log = logging.getLogger(__name__)
NAME_COPY = "__auditor_metric__"
"""Carries the metric name through ``count without``, which drops ``__name__``."""
QUERIES_PER_LABEL = 3


@dataclass
class PolicyScanResult:
    labels: dict[str, dict[str, LabelStats]] = field(default_factory=dict)
    """metric -> forbidden label -> value count and series without it, for the labels checked."""
    checked: list[str] = field(default_factory=list)
    """Labels scanned this cycle."""
    carried: list[str] = field(default_factory=list)
    """Labels whose last scan is recent, or that a bound skipped after an earlier scan: last figures kept."""
    skipped: list[str] = field(default_factory=list)
    """Labels due for a scan that a bound left out this cycle."""
    queries: int = 0


@dataclass(frozen=True, slots=True)
class ScanMemory:
    at: datetime
    metrics: dict[str, LabelStats]


class LabelPolicyScan:
    def __init__(
        self, client: PrometheusClient, settings: LabelPolicyBounds, endpoints: OptionalEndpoints | None = None,
        known: dict[str, ScanMemory] | None = None,
    ) -> None:  # fmt: skip
        self._client = client
        self._settings = settings
        self._endpoints = endpoints or OptionalEndpoints()
        self.known: dict[str, ScanMemory] = {} if known is None else known
        """label -> its last scan; a reload hands it to the next scan."""

    def run(self, budgets: Budgets, series: Mapping[str, int], at: datetime, deadline: Deadline) -> PolicyScanResult:
        """Scan the labels ``budgets`` forbids somewhere; ``series`` (the census) turns savings into series-without."""
        result = PolicyScanResult()
        if not budgets.has_label_policy:
            return result
        names = self._endpoints.call("/api/v1/labels", self._client.label_names, "the label-policy scan")
        if names is None:
            return result
        todo = budgets.policy_labels(names)
        due = self._due(todo, at)
        ends = deadline.monotonic() + self._settings.max_time.total_seconds()
        for index, label in enumerate(due):
            deadline.check()
            if result.queries + QUERIES_PER_LABEL > self._settings.max_queries or deadline.monotonic() >= ends:
                result.skipped.extend(due[index:])
                break
            if not self._one(label, budgets, series, at, result):
                result.skipped.extend(due[index:])
                break
        self._keep(todo, result)
        if result.skipped:
            log.info("label-policy scan skipped %d labels (bounds: queries, time)", len(result.skipped))
        return result

    def _due(self, todo: list[str], at: datetime) -> list[str]:
        """Labels never scanned first, then those whose last scan is ``interval`` old, oldest first."""
        never = [label for label in todo if label not in self.known]
        stale = [
            label for label in todo if label in self.known and at - self.known[label].at >= self._settings.interval
        ]
        return never + sorted(stale, key=lambda label: self.known[label].at)

    def _keep(self, todo: list[str], result: PolicyScanResult) -> None:
        """Forget labels no longer forbidden; every label not scanned now keeps its last figures."""
        self.known = {label: self.known[label] for label in todo if label in self.known}
        for label in todo:
            if label in result.checked or label not in self.known:
                continue
            result.carried.append(label)
            for metric, stats in self.known[label].metrics.items():
                result.labels.setdefault(metric, {})[label] = stats

    def _one(
        self, label: str, budgets: Budgets, series: Mapping[str, int], at: datetime, result: PolicyScanResult
    ) -> bool:
        """Scan one label into ``result``; False when Prometheus is gone for this cycle."""
        try:
            values = self._values(label, at, result)
            violators = {m for m in values if budgets.for_metric(m).forbids(label)}
            carriers, collapsed = self._saved(label, at, result) if violators else ({}, {})
            saved = {m: n - collapsed.get(m, n) for m, n in carriers.items()}
            without = {m: max(0, series.get(m, 0) - n) for m, n in saved.items() if m in violators}
            # A proof only where every series carries the label: else one may collapse onto a series without it.
            whole = {m: n for m, n in carriers.items() if m in violators and n == series.get(m)}
        except (PrometheusUnreachable, PrometheusTimeout) as exc:
            self._endpoints.failed(exc, "the label-policy scan of this cycle")
            return False
        except PrometheusError as exc:
            self._endpoints.failed(exc, "the label-policy scan of such labels")
            result.skipped.append(label)
            return True
        self._endpoints.succeeded("/api/v1/query")
        stats = {metric: LabelStats(count, without.get(metric), whole.get(metric)) for metric, count in values.items()}
        for metric, one in stats.items():
            result.labels.setdefault(metric, {})[label] = one
        self.known[label] = ScanMemory(at, stats)
        result.checked.append(label)
        return True

    def _values(self, label: str, at: datetime, result: PolicyScanResult) -> dict[str, int]:
        name = promql_label(label)
        return self._per_metric(f'count by (__name__) (count by (__name__, {name}) ({{{name}!=""}}))', at, result)

    def _saved(self, label: str, at: datetime, result: PolicyScanResult) -> tuple[dict[str, int], dict[str, int]]:
        """metric -> its series carrying ``label``, and metric -> what they collapse to without it."""
        name = promql_label(label)
        carrying = f'{{{name}!=""}}'
        carriers = self._per_metric(f"count by (__name__) ({carrying})", at, result)
        copied = f'label_replace({carrying}, "{NAME_COPY}", "$1", "__name__", "(.+)")'
        query = f"count by ({NAME_COPY}) (count without ({name}) ({copied}))"
        return carriers, self._per_metric(query, at, result, key=NAME_COPY)

    def _per_metric(self, query: str, at: datetime, result: PolicyScanResult, key: str = "__name__") -> dict[str, int]:
        result.queries += 1
        return {labels[key]: int(value) for labels, value in self._client.query_vector(query, at) if key in labels}


def merge_labels(
    drill: dict[str, dict[str, LabelStats]], policy: dict[str, dict[str, LabelStats]]
) -> dict[str, dict[str, LabelStats]]:
    """The drill-down's labels and the scan's: one label seen by both keeps the drill-down's count, and its
    proof (``count`` beside ``count without``) unless it has none."""
    out = {metric: dict(labels) for metric, labels in drill.items()}
    for metric, labels in policy.items():
        mine = out.setdefault(metric, {})
        for label, stats in labels.items():
            known = mine.get(label)
            if known is None:
                mine[label] = stats
            elif known.series_without is None or known.series_with is None:
                mine[label] = replace(known, series_without=stats.series_without, series_with=stats.series_with)
    return out

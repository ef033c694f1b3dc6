"""Cardinality impact of a rules diff, measured on a Prometheus (``rules diff --prometheus URL``).

For added and changed recording rules: ``count(<expr>)``, the series the rule would record now;
for removed and changed ones: the series the recorded metric has now; for each, the input metrics
with their current series. Each query is bounded by a timeout and the whole by a query budget: an
estimate that fails or is too expensive is reported as such, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from auditor.collect.client import PrometheusClient
from auditor.core.errors import PrometheusError
from auditor.core.impact import Impact, ImpactKey, impact_key
from auditor.core.promql import name_selector
from auditor.core.rulesets import RECORD, Group, Rule

log = logging.getLogger(__name__)
SPENT = "not estimated: the query budget of this diff is spent"


class ImpactEstimator:
    def __init__(self, client: PrometheusClient, at: datetime, timeout: float = 10.0, max_queries: int = 500) -> None:
        self._client = client
        self._at = at
        self._timeout = timeout
        self._budget = max_queries
        self._series: dict[str, int | None] = {}

    def assess(
        self,
        added: Sequence[tuple[Rule, Group | None]],
        removed: Sequence[Rule],
        changed: Sequence[tuple[Rule, Rule, Group]],
    ) -> dict[ImpactKey, Impact]:
        """Added rules (with their group), removed ones, changed ones (old, new, the new group)."""
        impacts: dict[ImpactKey, Impact] = {}
        for rule, group in added:
            if rule.kind == RECORD:
                impacts[impact_key("added", rule)] = self._new(rule, group)
        for rule in removed:
            if rule.kind == RECORD:
                impacts[impact_key("removed", rule)] = Impact(series_current=self._metric_series(rule.name))
        for old, new, new_group in changed:
            if new.kind == RECORD:
                impact = self._new(new, new_group)
                impact.series_current = self._metric_series(old.name)
                impacts[impact_key("changed", new)] = impact
        return impacts

    def _new(self, rule: Rule, group: Group | None) -> Impact:
        impact = Impact()
        if self._budget <= 0:  # a spent budget is a normal outcome, said in the output, not a Prometheus error
            impact.estimate_error = SPENT
        else:
            try:
                impact.series_estimate = self._count(f"count({rule.expr})")
            except PrometheusError as exc:
                impact.estimate_error = str(exc)
        for metric in rule.inputs():
            series = self._metric_series(metric)
            impact.inputs.append((metric, series))
            if series == 0:
                impact.warnings.append(f"input metric {metric} has no series on this Prometheus")
        limit = group.limit if group else 0
        if limit and impact.series_estimate is not None and impact.series_estimate > limit:
            impact.warnings.append(f"{impact.series_estimate} series exceed the group limit of {limit}")
        return impact

    def _metric_series(self, metric: str) -> int | None:
        if metric not in self._series:
            if self._budget <= 0:
                log.info("not counted %s: %s", metric, SPENT)
                self._series[metric] = None
                return None
            try:
                self._series[metric] = self._count(f"count({name_selector(metric)})")
            except PrometheusError as exc:
                log.info("could not count %s: %s", metric, exc)
                self._series[metric] = None
        return self._series[metric]

    def _count(self, query: str) -> int:
        self._budget -= 1
        vector = self._client.query_vector(query, self._at, timeout=self._timeout)
        return int(vector[0][1]) if vector else 0

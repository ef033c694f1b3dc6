"""What a cycle reads from Prometheus and how the checks judge it: collect -> evaluate, nothing written yet.

observed = observer.observe(source, budgets, deadline)   # census, drill-down, label policy, jobs, rules, evaluation
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from auditor.app.cycle_inputs import evaluation_input
from auditor.app.loaded_rules import LoadedRules
from auditor.collect import CensusCollector, Deadline, PrometheusClient
from auditor.collect.census import AskedLimits
from auditor.collect.drilldown import Drilldown, DrilldownResult
from auditor.collect.histograms import HistogramScan, InventoryResult
from auditor.collect.jobs import JobCollector
from auditor.collect.label_policy import LabelPolicyScan, PolicyScanResult, ScanMemory, merge_labels
from auditor.collect.optional import OptionalEndpoints
from auditor.config.reloadable import Reloadable
from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.cycle import Drilldown as DrilldownLabels
from auditor.core.domain import Census, Clock, SeriesNotion
from auditor.core.errors import DatabaseUnavailable
from auditor.core.jobs import JobCensus
from auditor.core.rulesets import RuleSet
from auditor.evaluate import Evaluation, EvaluationInput, evaluate
from auditor.evaluate.targets import drilldown_targets, offenders
from auditor.export.stats import RulesState
from auditor.store import Store
from auditor.store.hourly import HourlyMaxima

log = logging.getLogger("auditor.app.cycle")


@dataclass(frozen=True)
class Observed:
    census: Census
    drill: DrilldownResult
    policy: PolicyScanResult
    jobs: JobCensus | None
    labels: DrilldownLabels
    """The drill-down's labels, with the label-policy scan's for every metric it found."""
    evaluation: Evaluation
    live: RuleSet | None
    rules: RulesState | None
    histograms: InventoryResult = field(default_factory=lambda: InventoryResult(None))


class CycleObserver:
    """The collectors of a cycle and the checks over what they found, with the history read from the store."""

    def __init__(
        self, settings: Settings, prometheus: PrometheusClient, store: Store, clock: Clock, *,
        endpoints: OptionalEndpoints, asked: AskedLimits, desired_rules: Reloadable[RuleSet] | None,
        policy_memory: dict[str, ScanMemory] | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.store = store
        self._collector = CensusCollector(prometheus, settings.census, clock, asked)
        self._drilldown = Drilldown(prometheus, settings.drilldown, endpoints)
        self._policy = LabelPolicyScan(prometheus, settings.label_policy, endpoints, policy_memory)
        self._jobs = JobCollector(prometheus, settings.jobs, endpoints)
        self._histograms = HistogramScan(prometheus, settings.histograms, endpoints)
        self._maxima = HourlyMaxima(store)
        self._rules = LoadedRules(prometheus, endpoints, desired_rules)

    @property
    def policy_memory(self) -> dict[str, ScanMemory]:
        """What the label-policy scan knows (when each metric was scanned): a reload goes on with it."""
        return self._policy.known

    def observe(self, source: str, in_force: Budgets, deadline: Deadline) -> Observed:
        """Everything a cycle reads from Prometheus, and its evaluation: no write yet."""
        census = self._collector.collect(source, deadline)
        budgets = in_force.on(census.collected_at.date())
        drill = self._drill(census, budgets, deadline)
        policy = self._policy.run(budgets, census.metrics, census.collected_at, deadline)
        labels = merge_labels(drill.labels, policy.labels)
        jobs = self._jobs.collect(census.collected_at, self.settings.audit_interval)
        deadline.check()
        evaluation = evaluate(self._evaluation_input(census, budgets, labels, jobs))
        jobs = self._attributed(jobs, census, evaluation)
        live, rules = self._rules.read(census.server)
        histograms = self._histograms.run(census, deadline)
        deadline.check()
        return Observed(census, drill, policy, jobs, labels, evaluation, live, rules, histograms)

    def _evaluation_input(
        self, census: Census, budgets: Budgets, labels: DrilldownLabels, jobs: JobCensus | None
    ) -> EvaluationInput:
        """With the stored history; without it (no growth baselines, no trends) while the database is away."""
        try:
            return evaluation_input(self.store, census, budgets, labels, self.settings, maxima=self._maxima, jobs=jobs)
        except DatabaseUnavailable as exc:
            log.warning("history unavailable, growth and forecasts skipped this cycle: %s", exc)
            return EvaluationInput(census, budgets, labels, recent_max=dict(census.metrics), jobs=jobs)

    def _attributed(self, jobs: JobCensus | None, census: Census, evaluation: Evaluation) -> JobCensus | None:
        """The job census, with the jobs that send each offender's series: over budget, then grown too fast."""
        if jobs is None:
            return None
        attribution = self._jobs.attribute(offenders(census, evaluation.findings), census.collected_at)
        return replace(jobs, attribution=attribution, head_active=self._head_active(census))

    def _head_active(self, census: Census) -> dict[str, tuple[int, int]]:
        """Head against active series for the largest metrics the census counted in the head."""
        in_head = {
            SeriesNotion.HEAD: set(census.metrics), SeriesNotion.MIXED: census.head_metrics
        }.get(census.notion, set())  # fmt: skip
        largest = sorted(in_head, key=lambda m: -census.metrics.get(m, 0))[: self.settings.jobs.stale_top]
        active = self._jobs.active(largest, census.collected_at)
        return {m: (census.metrics[m], active[m]) for m in largest if m in active and m in census.metrics}

    def _drill(self, census: Census, budgets: Budgets, deadline: Deadline) -> DrilldownResult:
        targets = drilldown_targets(census, budgets, self.settings.drilldown.top_n)
        offenders = {m for m in targets if census.metrics[m] > budgets.for_metric(m).max_series}
        return self._drilldown.run(
            targets,
            offenders,
            census.collected_at,
            deadline,
            forbids=lambda metric, label: budgets.for_metric(metric).forbids(label),
            series=census.metrics,
        )

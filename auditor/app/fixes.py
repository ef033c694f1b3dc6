"""The fix ledger each cycle: record the remedies the cycle's violations get, then observe the fixes on Prometheus.

    tracker = FixTracker(store, settings, prometheus, stats)
    tracker.track(seen, budgets)        # after the cycle is stored; its failures never fail the cycle

The remedies are the ones ``check`` prints for the same stored cycle (the same decision on the same drill-down
and readers). Each cycle observes at most ``OBSERVED_PER_CYCLE`` fixes, the least recently observed first:
two instant queries each (``count(m)``, and ``count(m{L!=""})`` for a label), and one for the server's
duplicate-sample counter.
"""

from __future__ import annotations

import logging
from datetime import datetime

from auditor.app.histograms import readings_of
from auditor.app.observe import Observed
from auditor.app.remedies import offender_readers
from auditor.app.stats import CycleStats
from auditor.collect import PrometheusClient
from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.domain import ServerKind
from auditor.core.errors import AuditorError, StoreError
from auditor.core.findings import MetricFinding, Severity
from auditor.core.fixes import LedgerFix, Observation
from auditor.core.histograms import SUFFIXES
from auditor.core.promql import label as promql_label
from auditor.core.promql import name_selector, names_regex_selector, string, with_matchers
from auditor.core.remedies import BY_JOB, Action, Remedy
from auditor.evaluate.fix_ledger import observe, summary
from auditor.evaluate.histograms import histogram_entries, histogram_remedies
from auditor.evaluate.remedies import remedy_of
from auditor.evaluate.report import Report
from auditor.store import Store

log = logging.getLogger(__name__)
OBSERVED_PER_CYCLE = 50
DUPLICATES = "sum(prometheus_target_scrapes_sample_duplicate_timestamp_total)"
"""Samples Prometheus rejected for a duplicate timestamp with another value (only where it scrapes itself)."""


class FixTracker:
    def __init__(self, store: Store, settings: Settings, prometheus: PrometheusClient, stats: CycleStats) -> None:
        self._store, self._settings, self._prometheus, self._stats = store, settings, prometheus, stats

    def track(self, seen: Observed, budgets: Budgets) -> None:
        try:
            self._record(seen, budgets)
            self._record_histograms(seen, budgets)
            self._observe(seen)
            self._measure_plans(seen)
            self._stats.record_fixes(summary(self._store.fixes.all(seen.census.source)))
        except AuditorError as exc:
            log.warning("fix ledger not updated this cycle: %s", exc)
        except Exception as exc:  # the ledger never fails the cycle; the next one goes on
            log.error("fix ledger not updated this cycle (unexpected %s): %s", type(exc).__name__, exc)

    def _record(self, seen: Observed, budgets: Budgets) -> None:
        census = seen.census
        findings = [f for f in seen.evaluation.violations
                    if isinstance(f, MetricFinding) and f.severity is Severity.EXCEEDED]  # fmt: skip
        if not findings:
            return
        metrics = {f.metric: seen.labels.get(f.metric, {}) for f in findings}
        readers = offender_readers(self._store, self._settings, census, census.collected_at, rules=seen.live,
                                   budgets=budgets, metrics=metrics)  # fmt: skip
        victoria = census.server is ServerKind.VICTORIAMETRICS
        remedies = [remedy_of(f, seen.labels, readers, victoria=victoria) for f in findings]
        self._store.fixes.record(census.source, self._settings.prometheus_url_for_logs, remedies, census.collected_at)

    def _record_histograms(self, seen: Observed, budgets: Budgets) -> None:
        """The conversions and bucket drops of a cycle that took the histogram inventory."""
        inventory = seen.histograms.inventory
        if inventory is None:
            return
        self._stats.record_histograms(inventory)
        if not inventory.families:
            return
        readings = readings_of(self._settings, {f.metric for f in inventory.families})
        entries = histogram_entries(inventory, readings, lambda m: budgets.for_metric(m + "_bucket").owner)
        census = seen.census
        remedies = histogram_remedies(entries)
        self._store.fixes.record(census.source, self._settings.prometheus_url_for_logs, remedies, census.collected_at)

    def _observe(self, seen: Observed) -> None:
        due = self._store.fixes.due(seen.census.source, OBSERVED_PER_CYCLE)
        if not due:
            return
        at = seen.census.collected_at
        duplicates = self._value(DUPLICATES, at)
        failing = seen.rules.failing_reads if seen.rules else frozenset()
        observed = [observe(fix, self._observation(fix, at, duplicates, failing), at) for fix in due]
        self._store.fixes.save(observed)

    def _observation(
        self, fix: LedgerFix, at: datetime, duplicates: float | None, failing: frozenset[str]
    ) -> Observation:  # fmt: skip
        if fix.action in BY_JOB:
            return self._histogram_observation(fix, at, duplicates, failing)
        selector = name_selector(fix.metric)
        active = int(self._value(f"count({selector})", at) or 0)
        carrying = None
        if fix.action is not Action.DROP_METRIC and fix.label:
            carrying_selector = with_matchers(selector, f'{promql_label(fix.label)}!=""')
            carrying = int(self._value(f"count({carrying_selector})", at) or 0)
        scraped = None
        if fix.action is Action.FIX_AT_SOURCE:
            targets = f"group by (job, instance) ({selector})"
            scraped = self._value(f"sum(scrape_samples_scraped * on (job, instance) group_left {targets})", at)
        return Observation(active, carrying, duplicates, fix.metric in failing, scraped)

    def _measure_plans(self, seen: Observed) -> None:
        """What the jobs of recorded plans send now of each planned metric (docs/plan.md)."""
        due = self._store.plans.due(seen.census.source, OBSERVED_PER_CYCLE)
        at = seen.census.collected_at
        measured = []
        for p in due:
            selector = with_matchers(name_selector(p.metric), f"job={string(p.job)}")
            measured.append((p.id, int(self._value(f"count({selector})", at) or 0), at))
        if measured:
            self._store.plans.measured(measured)

    def _histogram_observation(
        self, fix: LedgerFix, at: datetime, duplicates: float | None, failing: frozenset[str]
    ) -> Observation:  # fmt: skip
        """The family's series in its job (``label`` holds the job): a conversion's classic and native ones, and the
        classic ones it carries still; a bucket drop's classic ones (a conversion of the family is not its landing)."""
        family, job = fix.metric, f"job={string(fix.label)}"
        classic = with_matchers(names_regex_selector([family + s for s in SUFFIXES]), job)
        carrying = int(self._value(f"count({classic})", at) or 0)
        active = carrying
        if fix.action is Action.CONVERT_HISTOGRAM:
            active = int(self._value(f"count({with_matchers(name_selector(family), job)})", at) or 0) + carrying
        scraped = self._value(f"sum(scrape_samples_scraped{{{job}}})", at)
        kept = carrying if fix.action is Action.CONVERT_HISTOGRAM else None
        return Observation(active, kept, duplicates, family + "_bucket" in failing, scraped)

    def _value(self, query: str, at: datetime) -> float | None:
        vector = self._prometheus.query_vector(query, at)
        return vector[0][1] if vector else None


def record_fixes(store: Store, settings: Settings, report: Report, at: datetime) -> None:
    """The remedies the report prints go into the fix ledger, as ``check``'s and the daemon's do; a store that
    refuses the write costs the ledger this print, never the report."""
    remedies = [Remedy(Action(s.action), s.metric, s.label, s.safe, s.proof, s.series_now, s.predicted_series)
                for s in report.suggestions]  # fmt: skip
    try:
        store.fixes.record(report.period.source, settings.prometheus_url_for_logs, remedies, at)
    except StoreError as exc:
        log.warning("the fix ledger did not record this report: %s", exc)

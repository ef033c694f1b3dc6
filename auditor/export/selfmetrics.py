"""The auditor's own metrics, built fresh on every scrape from the cycles' stats.

registry = CollectorRegistry()
registry.register(SelfMetricsCollector(stats, export=settings.export))
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from auditor import __version__
from auditor.core.budgets import default_budgets
from auditor.core.domain import Census
from auditor.export.budgetmetrics import budget_families, file_families, rules_families
from auditor.export.families import PREFIX, one_counter, one_gauge
from auditor.export.fixmetrics import fix_families
from auditor.export.histogrammetrics import histogram_families
from auditor.export.inputs import ExportCaps, FollowedBudgets, FollowedFile, StatsSource
from auditor.export.jobmetrics import job_families
from auditor.export.stats import StatsView
from auditor.export.usagemetrics import usage_families


class SelfMetricsCollector(Collector):
    def __init__(
        self,
        stats: StatsSource,
        budgets: FollowedBudgets | None = None,
        *,
        export: ExportCaps,
        interval_seconds: float | None = None,
        started: float | None = None,
        desired: FollowedFile | None = None,
    ) -> None:
        self._stats = stats
        self._budgets = budgets
        self._desired = desired
        self._export = export
        self._interval = interval_seconds
        self._started = started
        """Unix time the daemon started (its clock's); None outside the daemon (no start time to tell)."""

    def collect(self) -> Iterator[Metric]:
        view = self._stats.view()
        yield one_gauge("build_info", "Version of metrics-auditor.", 1, {"version": __version__})
        if self._started is not None:
            yield one_gauge("start_time_seconds", "Unix time the auditor started.", self._started)
        if self._interval is not None:
            yield one_gauge("audit_interval_seconds", "Configured time between audit cycles.", self._interval)
        yield from _cycle_metrics(view)
        yield from _reachability(view)
        yield from _io_metrics(view)
        if view.census is not None:
            yield from _census_metrics(view, view.census)
        if view.details is not None:
            yield from budget_families(view.details, self._export)
            if view.details.rules is not None:
                yield from rules_families(view.details.rules)
            if view.details.jobs is not None:
                budgets = self._budgets.value if self._budgets is not None else default_budgets()
                evaluation = view.details.evaluation
                yield from job_families(view.details.jobs, budgets, evaluation.findings, evaluation.job_limit_seconds)
        if view.usage is not None:
            yield from usage_families(view.usage, view.usage_read_failures)
        if view.fixes is not None:
            yield from fix_families(view.fixes, self._budgets.value if self._budgets is not None else None)
        if view.histograms is not None:
            in_force = self._budgets.value if self._budgets is not None else None
            yield from histogram_families(view.histograms, in_force, self._export)
        if self._budgets is not None:
            yield from file_families("budgets", "budgets file", self._budgets)
        if self._desired is not None:
            yield from file_families("desired_rules", "desired rules (AUDITOR_RULES_DIR)", self._desired)


def _cycle_metrics(view: StatsView) -> Iterator[Metric]:
    if view.last_success is not None:
        yield one_gauge(
            "last_success_timestamp_seconds",
            "Unix time of the last audit cycle that stored a census.",
            view.last_success.timestamp(),
        )
    cycles = CounterMetricFamily(PREFIX + "cycles", "Audit cycles run, by result.", labels=["result"])
    cycles.add_metric(["success"], view.successes)
    cycles.add_metric(["failure"], sum(view.failures.values()))
    yield cycles
    failures = CounterMetricFamily(PREFIX + "cycle_failures", "Failed audit cycles, by reason.", labels=["reason"])
    for reason, count in sorted(view.failures.items()):
        failures.add_metric([reason], count)
    yield failures
    yield CounterMetricFamily(
        PREFIX + "cycle_duration_seconds", "Total time spent in audit cycles.", value=view.duration_sum
    )
    if view.last_duration is not None:
        yield one_gauge("last_cycle_duration_seconds", "Duration of the last audit cycle.", view.last_duration)


def _reachability(view: StatsView) -> Iterator[Metric]:
    if view.prometheus_up is not None:
        yield one_gauge("prometheus_up", "1 if the last cycle could read Prometheus, else 0.", int(view.prometheus_up))
    if view.database_up is not None:
        yield one_gauge("database_up", "1 if the last cycle could write the database, else 0.", int(view.database_up))


def _io_metrics(view: StatsView) -> Iterator[Metric]:
    io = view.io
    skipped = CounterMetricFamily(
        PREFIX + "cycles_skipped",
        "Audit cycles not run, by reason (circuit_open: Prometheus down; still_running: the previous cycle "
        "outlasted the interval).",
        labels=["reason"],
    )
    for reason, count in sorted(view.skipped.items()):
        skipped.add_metric([reason], count)
    yield skipped
    yield one_counter(
        "prometheus_request_retries", "Prometheus requests retried after a transient failure.", io.request_retries
    )
    yield one_gauge(
        "prometheus_circuit_open",
        "1 while cycles are spaced out because Prometheus keeps failing.",
        int(io.circuit_open),
    )
    yield one_gauge(
        "standby",
        "1 while another auditor holds this source's writer lease (this one stores nothing).",
        int(io.standby),
    )
    yield one_gauge("spool_cycles", "Cycles waiting in memory for the database to come back.", io.spool_pending)
    yield one_counter(
        "spool_spooled_cycles", "Cycles kept in the spool because the database was unavailable.", io.spooled
    )
    yield one_counter("spool_written_cycles", "Spooled cycles written once the database was back.", io.spool_written)
    yield one_counter(
        "spool_dropped_cycles", "Spooled cycles lost: spool full, or refused by the database.", io.spool_dropped
    )
    yield from _endpoint_metrics(view)


def _endpoint_metrics(view: StatsView) -> Iterator[Metric]:
    """Optional requests (rules, configuration, drill-down): a failure skips that feature, not the cycle."""
    endpoints = view.io.endpoints
    failures = CounterMetricFamily(
        PREFIX + "optional_request_failures",
        "Failed requests a cycle did without (the feature was skipped), by API endpoint and reason.",
        labels=["endpoint", "reason"],
    )
    for (endpoint, reason), count in sorted(endpoints.failures.items()):
        failures.add_metric([endpoint, reason], count)
    yield failures
    up = GaugeMetricFamily(
        PREFIX + "optional_endpoint_up",
        "1 if the last request to this optional endpoint succeeded.",
        labels=["endpoint"],
    )
    for endpoint, ok in sorted(endpoints.up.items()):
        up.add_metric([endpoint], int(ok))
    yield up


def _census_metrics(view: StatsView, census: Census) -> Iterator[Metric]:
    head = census.head.num_series
    yield one_gauge("head_series", "Series in the audited Prometheus' head block (last census).", head)
    yield one_gauge("census_metrics", "Metric names counted by the last census.", len(census.metrics))
    yield one_gauge(
        "census_info",
        "How the last census was taken.",
        1,
        {
            "source": census.source,
            "method": census.method.value,
            "notion": census.notion.value,
            "server": census.server.value,
            "prometheus_version": census.prometheus_version,
            "truncated": str(census.tsdb_truncated).lower(),
        },
    )

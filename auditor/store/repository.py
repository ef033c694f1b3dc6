"""The store: the only code that holds SQL. Domain objects in, domain objects out.

store = Store(make_engine("sqlite:///metrics-auditor.db"))
saved = store.save(CycleRecord(census, url="http://localhost:9090", duration_seconds=0.4))   # Stored(id)
store.history("prod", "user_sessions", since=now - timedelta(days=7))

``Store`` is a thin facade over repositories of one job each, which share one metric-name dictionary:
``CycleWriter`` (cycles, under the writer lease), ``HistoryReader`` (a metric over time, window maxima,
trends), ``SnapshotReader`` (cycles read back), findings and rule versions, the lease.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select, text

from auditor.core.cycle import Writer
from auditor.store import findings, lease, rule_versions
from auditor.store.cycles import CycleWriter, snapshot_row
from auditor.store.errors import translate_errors
from auditor.store.fixes import FixLedger
from auditor.store.histograms import HistogramReader
from auditor.store.history import HistoryReader
from auditor.store.job_history import JobHistory
from auditor.store.jobs import JobReader
from auditor.store.models import MetricName
from auditor.store.names import MetricNames
from auditor.store.plans import PlanLedger
from auditor.store.snapshots import SnapshotReader
from auditor.store.sql import STATUS_FAILED, STATUS_OK, Rows, source_id_of
from auditor.store.usage import UsageStore

if TYPE_CHECKING:
    from auditor.core.findings import FindingRow
    from auditor.core.rulesets import RuleSet, StoredRuleVersion

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "Rows",
    "Store",
    "snapshot_row",
    "source_id_of",
]


class Store:
    """One door to the database; each call is answered by the repository whose job it is."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.names = MetricNames()
        self.cycles = CycleWriter(engine, self.names)
        self.reader = SnapshotReader(engine)
        self.timeline = HistoryReader(engine, self.names)
        self.job_reader = JobReader(engine)
        self.job_history = JobHistory(engine)
        self.usage = UsageStore(engine, self.names)
        self.fixes = FixLedger(engine, self.names)
        self.histograms = HistogramReader(engine)
        self.plans = PlanLedger(engine, self.names)
        # The jobs, by name: writing cycles, reading them back, reading history.
        self.save = self.cycles.save
        self.save_failure = self.cycles.save_failure
        self.sources = self.reader.sources
        self.snapshots = self.reader.snapshots
        self.last_success = self.reader.last_success
        self.latest_census = self.reader.latest_census
        self.census_in = self.reader.census_in
        self.rollup_census = self.reader.rollup_census
        self.rollup_values = self.reader.rollup_values
        self.metric_counts = self.reader.metric_counts
        self.metric_rows = self.reader.metric_rows
        self.label_stats = self.reader.label_stats
        self.drilldown = self.reader.drilldown
        self.window_max = self.timeline.window_max
        self.hourly_max = self.timeline.hourly_max
        self.trends = self.timeline.trends
        self.history = self.timeline.history
        self.jobs_of = self.job_reader.jobs_of
        self.job_cycles = self.job_reader.job_cycles
        self.job_census_in = self.job_reader.job_census_in
        self.job_hours = self.job_history.hours
        self.job_hour_max = self.job_history.hour_max

    def ping(self) -> None:
        with translate_errors("checking the connection"), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def release(self, source: str, writer: Writer) -> None:
        """Hand the writer lease back (a one-off ``audit`` when it is done, a daemon when it stops)."""
        lease.release(self.engine, source, writer)

    def open_findings(self, source: str) -> list[FindingRow]:
        return findings.open_findings(self.engine, source)

    def rule_versions(self, source: str) -> list[StoredRuleVersion]:
        """Every rule-set version ``source`` has loaded, oldest first."""
        return rule_versions.versions(self.engine, source)

    def rule_version(self, version_id: int) -> tuple[StoredRuleVersion, RuleSet] | None:
        return rule_versions.version(self.engine, version_id)

    def metric_known(self, metric: str) -> bool:
        with translate_errors("reading metric names"), self.engine.connect() as conn:
            return conn.execute(select(MetricName.id).where(MetricName.name == metric)).first() is not None

    def metric_ids(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Ids of ``names``, inserting the ones the dictionary lacks (in ``conn``'s transaction, uncached)."""
        return self.names.ids(conn, names)

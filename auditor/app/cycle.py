"""One audit cycle, the same for the CLI and the daemon (wired by ``auditor.app.wiring``).

auditor = build_auditor(settings)             # real HTTP client, engine and clock
census = auditor.run_cycle()                  # observe (collect, evaluate) -> store or spool

The cycle's parts live beside it: the history its checks read (``cycle_inputs``), the loaded rules
(``loaded_rules``), the spool (``spool``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from auditor.app.cycle_store import CycleStorage
from auditor.app.fixes import FixTracker
from auditor.app.observe import CycleObserver, Observed
from auditor.app.readiness import readiness
from auditor.app.spool import Spool
from auditor.app.stats import CycleStats
from auditor.app.usage import UsageMemory, UsageTracker
from auditor.collect import Deadline, PrometheusClient
from auditor.collect.breaker import Breaker
from auditor.collect.census import AskedLimits
from auditor.collect.client import is_outage
from auditor.collect.label_policy import ScanMemory
from auditor.collect.optional import OptionalEndpoints
from auditor.collect.source_name import SourceName
from auditor.config.budgets import BudgetsProvider
from auditor.config.reloadable import Reloadable
from auditor.config.settings import Settings
from auditor.core.cycle import CycleRecord, Writer
from auditor.core.domain import Census, Clock
from auditor.core.errors import (
    AuditorError,
    CycleCancelled,
    PrometheusError,
    StoreError,
)
from auditor.core.rulesets import RuleSet
from auditor.export.stats import CycleDetails, IoState
from auditor.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Carried:
    """What outlives a configuration reload, handed by the old auditor to the root that builds the next one."""

    stats: CycleStats
    breaker: Breaker
    spool: Spool
    standby: bool
    endpoints: OptionalEndpoints
    asked: AskedLimits
    policy: dict[str, ScanMemory]
    usage: UsageMemory
    source_setting: str | None
    known_source: str | None
    """The source name the old auditor derived; kept when ``AUDITOR_SOURCE`` did not change."""


@dataclass
class Auditor:
    settings: Settings
    prometheus: PrometheusClient
    store: Store
    clock: Clock
    stats: CycleStats
    budgets: BudgetsProvider
    desired_rules: Reloadable[RuleSet] | None
    """AUDITOR_RULES_DIR, followed like the budgets file; None turns drift detection off."""
    storage: CycleStorage
    """Where the cycle goes: the store under the writer lease, the spool, or nowhere as the standby."""
    breaker: Breaker
    asked: AskedLimits
    """The TSDB-status limits this process asked with: the root hands every auditor the process's one."""
    endpoints: OptionalEndpoints = field(default_factory=OptionalEndpoints)
    """Requests a cycle does without when they fail (rules, configuration, drill-down)."""
    resources: ExitStack = field(default_factory=ExitStack)
    """Closes what ``build_auditor`` opened itself (not what the caller passed in)."""
    carried: Carried | None = None
    """From the auditor this one replaces (a reload): its memories go on here."""

    def __post_init__(self) -> None:
        carried = self.carried
        self._name = SourceName(
            self.settings.source, self.settings.prometheus_url_for_logs, self.prometheus, self.endpoints
        )
        if carried is not None and carried.source_setting == self.settings.source:
            self._name.known = carried.known_source
        self._observer = CycleObserver(
            self.settings, self.prometheus, self.store, self.clock, endpoints=self.endpoints, asked=self.asked,
            desired_rules=self.desired_rules, policy_memory=carried.policy if carried is not None else None,
        )  # fmt: skip
        memory = carried.usage if carried is not None else None
        self._usage = UsageTracker(self.store, self.settings, self.clock, memory)
        self._fixes = FixTracker(self.store, self.settings, self.prometheus, self.stats)
        self._running = threading.Lock()
        self.carried = None  # handed on; nothing keeps the old auditor alive

    @property
    def spool(self) -> Spool:
        return self.storage.spool

    @property
    def writer(self) -> Writer | None:
        return self.storage.writer

    @writer.setter
    def writer(self, writer: Writer | None) -> None:
        self.storage.writer = writer

    @property
    def standby(self) -> bool:
        return self.storage.standby

    def __enter__(self) -> Auditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.resources.close()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Hold off cycles (waiting for a running one to end) inside the block."""
        with self._running:
            yield

    def carry(self) -> Carried:
        """What the next auditor (a reload) goes on with: one value, handed to ``build_auditor``."""
        return Carried(
            self.stats, self.breaker, self.spool, self.standby, self.endpoints, self.asked,
            self._observer.policy_memory, self._usage.memory, self.settings.source, self.known_source,
        )  # fmt: skip

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no cycle runs; False if one still runs after ``timeout`` seconds."""
        if not self._running.acquire(timeout=timeout):
            return False
        self._running.release()
        return True

    def scheduled_cycle(self, cancel: threading.Event | None = None) -> Census | None:
        """The daemon's cycle: ``run_cycle``, unless the circuit breaker spaces cycles out (then None)."""
        if not self.breaker.allow():
            self._skipped()
            return None
        return self.run_cycle(cancel)

    def run_cycle(self, cancel: threading.Event | None = None) -> Census:
        """Collect a census and store it in one transaction; failures are counted, recorded and re-raised.

        While the database is away the cycle is kept in the spool and written at a later cycle.
        """
        with self._running:
            started, attempted_at = self.clock.monotonic(), self.clock.now()
            try:
                self.storage.flush_spool()
                deadline = Deadline.after(self.settings.audit_timeout.total_seconds(), self.clock.monotonic, cancel)
                with self.prometheus.deadline(deadline.at_monotonic):
                    seen = self._observer.observe(self.source(), self.budgets.current(), deadline)
                stored = self._store(seen, self.clock.monotonic() - started)
                self.breaker.succeeded()
            except AuditorError as exc:
                self._failed(exc, attempted_at, self.clock.monotonic() - started)
                raise
            finally:
                self.stats.record_io(self._io_state())
            self._succeeded(seen, self.clock.monotonic() - started, stored)
            if stored:
                self._track_usage(seen.census)
                self._fixes.track(seen, self.budgets.current())
            return seen.census

    def _store(self, seen: Observed, duration: float) -> bool:
        """Write the cycle, or spool it while the database is away; True when it is stored."""
        cycle = CycleRecord(
            seen.census, self.settings.prometheus_url_for_logs, duration, drilldown=seen.labels,
            drilldown_skipped=len(seen.drill.skipped), findings=seen.evaluation.findings, rules=seen.live,
            writer=self.storage.writer, jobs=seen.jobs, histograms=seen.histograms.inventory,
        )  # fmt: skip
        return self.storage.save(cycle)

    def _track_usage(self, census: Census) -> None:
        """The query log since the last read, stored after the cycle (its failures never fail the cycle)."""
        summary = self._usage.track(census, self.settings.prometheus_url_for_logs, self.budgets.current())
        if summary is not None:
            self.stats.record_usage(summary, self._usage.memory.failures)

    def _skipped(self) -> None:
        self.stats.record_skip("circuit_open")
        self.stats.record_io(self._io_state())
        log.info(
            "cycle skipped: Prometheus failed %d cycles in a row; next try in %.0fs",
            self.breaker.threshold,
            self.breaker.seconds_until_trial(),
        )

    def _io_state(self) -> IoState:
        spool = self.spool
        return IoState(
            self.prometheus.retries,
            self.breaker.is_open,
            len(spool),
            spool.spooled,
            spool.written,
            spool.dropped,
            self.standby,
            self.endpoints.view(),
        )

    def _succeeded(self, seen: Observed, duration: float, stored: bool) -> None:
        details = CycleDetails(
            seen.evaluation, seen.drill.requests, len(seen.drill.skipped), seen.rules,
            policy_queries=seen.policy.queries, policy_skipped=len(seen.policy.skipped), jobs=seen.jobs,
        )  # fmt: skip
        self.stats.record_success(seen.census, duration, details, database_up=stored)
        log.info(
            "cycle ok: source=%s metrics=%d head_series=%d method=%s violations=%d drilled=%d duration=%.3fs",
            seen.census.source,
            len(seen.census.metrics),
            seen.census.head.num_series,
            seen.census.method.value,
            len(seen.evaluation.violations),
            len(seen.drill.labels),
            duration,
        )

    @property
    def known_source(self) -> str | None:
        """The source name if it is configured or was derived already; never asks Prometheus."""
        return self._name.known

    def source(self) -> str:
        """The configured source name, else one derived from Prometheus' external labels or URL (cached)."""
        return self._name.resolve()

    def readiness(self) -> tuple[bool, str]:
        """Ready when the database answers and the last successful cycle is recent."""
        return readiness(self.store, self.stats, self.clock.now(), self.settings.stale_after, self.standby)

    def _failed(self, exc: AuditorError, at: datetime, duration: float) -> None:
        if isinstance(exc, CycleCancelled):
            return
        if isinstance(exc, PrometheusError) and is_outage(exc):
            self.breaker.failed()
        prometheus_up = False if isinstance(exc, PrometheusError) else None
        database_up = False if isinstance(exc, StoreError) else None
        self.stats.record_failure(exc.reason, duration, prometheus_up=prometheus_up, database_up=database_up)
        if isinstance(exc, PrometheusError) and self.known_source is not None:
            url = self.settings.prometheus_url_for_logs
            self.storage.record_failure(self.known_source, url, exc, at, duration)

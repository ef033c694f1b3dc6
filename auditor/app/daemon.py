"""``metrics-auditor run``: scheduled audit cycles, ``/metrics``, ``/healthz``, ``/readyz``.

One cycle at start, then one every ``AUDITOR_AUDIT_INTERVAL``; never two at once.
Cycles are stored under the source's writer lease: a second auditor for the same source (a rolling
deploy, an HA pair) evaluates and exports but stores nothing until the lease lapses.
SIGHUP reloads the budgets file (it is also reloaded whenever it changes on disk) and the
configuration; a broken one is logged and the last good one stays in force. The database URL and
the listen address change only at a restart.
SIGTERM/SIGINT stop the scheduler, abandon a running cycle at its next request
(it stores nothing: the write is one transaction at its end) and exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from auditor.app.cycle import Auditor
from auditor.app.http import make_app
from auditor.app.jobs import safe_compaction, safe_cycle, safe_report
from auditor.app.runs import JobRuns, ReloadRuns
from auditor.app.wiring import DaemonParts, build_auditor, daemon_parts, writer_lease
from auditor.config.settings import Settings
from auditor.core.durations import format_duration
from auditor.core.errors import AuditorError
from auditor.export.selfmetrics import SelfMetricsCollector

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 5.0
REPORT_MAKEUP_DELAY = timedelta(seconds=30)
COMPACTION_FIRST_DELAY = timedelta(minutes=1)
RESTART_ONLY = ("database_url", "listen_address")


Reload = Callable[[], Settings]


class Daemon:
    """The scheduler, the HTTP server and the auditor in force; ``reload()`` swaps in a new auditor."""

    def __init__(self, auditor: Auditor, parts: DaemonParts, load_settings: Reload | None = None) -> None:
        self.auditor = auditor
        self._load_settings = load_settings
        self.stop_requested = threading.Event()
        self.reload_requested = threading.Event()
        self.reloads = ReloadRuns()
        self._cancel = threading.Event()
        self._scheduler = parts.scheduler
        self._started = auditor.clock.now().timestamp()
        self.jobs = JobRuns()
        self.webhook = parts.webhook
        """POSTs the weekly report (AUDITOR_REPORT_WEBHOOK_URL); closed when the daemon stops."""
        self._claim_writes(auditor)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Current(self))
        self.http = parts.serve(make_app(registry, self._health, self._ready))

    def self_metrics(self) -> Iterator[Metric]:
        settings = self.auditor.settings
        interval = settings.audit_interval.total_seconds()
        yield from SelfMetricsCollector(
            self.auditor.stats, self.auditor.budgets, export=settings.export, interval_seconds=interval,
            started=self._started, desired=self.auditor.desired_rules,
        ).collect()  # fmt: skip
        yield from self.reloads.collect()
        yield from self.jobs.collect()

    def _claim_writes(self, auditor: Auditor) -> None:
        if auditor.writer is None:
            auditor.writer = writer_lease(auditor.settings)

    def _cycle(self) -> None:
        safe_cycle(self.auditor, self._cancel)

    def _compaction(self) -> None:
        self.jobs.record("compaction", safe_compaction(self.auditor))

    def _report(self, makeup: CronTrigger | None) -> None:
        self.jobs.record("report", safe_report(self.auditor, makeup, self.webhook))

    def _overlapped(self, event: JobExecutionEvent) -> None:
        """A run the scheduler skipped because the previous one still runs (a cycle longer than the interval)."""
        if event.job_id == "audit":
            self.auditor.stats.record_skip("still_running")

    def start(self) -> None:
        self._scheduler.add_listener(self._overlapped, EVENT_JOB_MAX_INSTANCES)
        self._schedule()
        self.http.start()
        self._scheduler.start()
        log.info(
            "metrics-auditor running: prometheus=%s database=%s interval=%s listening on %s",
            self.auditor.settings.prometheus_url_for_logs,
            self.auditor.settings.database_url_for_logs,
            format_duration(self.auditor.settings.audit_interval),
            self.auditor.settings.listen_address,
        )

    def _schedule(self, first_cycle: datetime | None = None) -> None:
        """Add (or, after a reload, replace) the jobs; the first cycle runs at once unless told otherwise.

        Run times are APScheduler's, which runs on the wall clock whatever clock the cycles are given.
        """
        settings = self.auditor.settings
        interval = settings.audit_interval.total_seconds()
        self._scheduler.add_job(
            self._cycle,
            IntervalTrigger(seconds=interval, timezone=UTC),
            id="audit",
            next_run_time=first_cycle or self.auditor.clock.now(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
            replace_existing=True,
        )
        compaction = settings.compaction_interval.total_seconds()
        self._scheduler.add_job(
            self._compaction,
            IntervalTrigger(seconds=compaction, timezone=UTC),
            id="compaction",
            next_run_time=self.auditor.clock.now() + COMPACTION_FIRST_DELAY,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(compaction)),
            replace_existing=True,
        )
        self._schedule_reports(makeup=first_cycle is None)

    def _schedule_reports(self, makeup: bool) -> None:
        """Last week's report on ``AUDITOR_REPORT_SCHEDULE``; one missed while the daemon was down is made up."""
        settings = self.auditor.settings
        trigger = CronTrigger.from_crontab(settings.report_schedule, timezone=ZoneInfo(settings.timezone))
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 6 * 3600, "replace_existing": True}
        self._scheduler.add_job(self._report, trigger, args=[None], id="report", **common)
        if makeup:
            makeup_at = self.auditor.clock.now() + REPORT_MAKEUP_DELAY  # after the first cycle has named the source
            self._scheduler.add_job(self._report, "date", run_date=makeup_at, args=[trigger], id="makeup", **common)

    def reload(self) -> bool:
        """SIGHUP: the budgets, then the whole configuration; anything broken keeps the last good one."""
        old = self.auditor
        old.budgets.reload()
        if self._load_settings is None:
            return True
        try:
            fresh = self._rebuild(old, self._load_settings)
        except AuditorError as exc:
            log.error("configuration not reloaded, the last good one stays in force: %s", exc)
            self.reloads.record(False)
            return False
        except Exception as exc:  # a reload never stops the daemon, whatever went wrong in it
            log.error(
                "configuration not reloaded (unexpected %s), the last good one stays: %s", type(exc).__name__, exc
            )
            self.reloads.record(False)
            return False
        with old.running():
            self.auditor = fresh
        old.close()
        self._schedule(first_cycle=fresh.clock.now() + fresh.settings.audit_interval)
        self.reloads.record(True)
        log.info("configuration reloaded")
        return True

    def _rebuild(self, old: Auditor, load_settings: Reload) -> Auditor:
        settings = load_settings()
        for name in RESTART_ONLY:
            if getattr(settings, name) != getattr(old.settings, name):
                log.warning("%s changed: it takes effect at the next restart", name)
        settings = settings.model_copy(update={name: getattr(old.settings, name) for name in RESTART_ONLY})
        same_budgets = settings.effective_budgets_file == old.settings.effective_budgets_file
        fresh = build_auditor(
            settings, engine=old.store.engine, budgets=old.budgets if same_budgets else None, carried=old.carry()
        )
        fresh.resources.callback(old.store.engine.dispose)
        self._claim_writes(fresh)
        return fresh

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> bool:
        """Stop scheduling, abandon a running cycle; True when nothing is left running."""
        self._cancel.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        idle = self.auditor.wait_idle(grace_seconds)
        self.http.stop()
        self.webhook.close()
        self._release_lease()
        return idle

    def _release_lease(self) -> None:
        """A clean stop hands the writer lease over at once (a rolling deploy's next auditor need not wait)."""
        auditor = self.auditor
        if auditor.writer is None or auditor.known_source is None or auditor.standby:
            return
        try:
            auditor.store.release(auditor.known_source, auditor.writer)
        except AuditorError as exc:
            log.info("writer lease not handed back (it lapses by itself): %s", exc)

    def _ready(self) -> tuple[bool, str]:
        return self.auditor.readiness()

    def _health(self) -> tuple[bool, str]:
        if self._scheduler.running or self.stop_requested.is_set():
            return True, "ok"
        return False, "scheduler not running"

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            self.stop_requested.set()

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self.reload_requested.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGHUP, reload)

    def serve_until_stopped(self) -> None:
        """The main thread's loop: handle SIGHUP reloads until SIGTERM/SIGINT."""
        while not self.stop_requested.wait(1.0):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                log.info("received SIGHUP: reloading the configuration and the budgets file")
                self.reload()


class _Current(Collector):
    """The self-metrics of whichever auditor is in force (a reload swaps it)."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon

    def collect(self) -> Iterator[Metric]:
        return self._daemon.self_metrics()


def run(auditor: Auditor, load_settings: Reload | None = None) -> bool:
    """Run until SIGTERM/SIGINT; returns False when a cycle was still running at exit.

    ``load_settings`` re-reads the configuration on SIGHUP (the CLI passes its ``--config``).
    """
    daemon = Daemon(auditor, daemon_parts(auditor.settings, auditor.clock), load_settings)
    daemon.install_signal_handlers()
    try:
        daemon.start()
        daemon.serve_until_stopped()
    finally:
        idle = daemon.stop()
    daemon.auditor.close()
    log.info("stopped" if idle else "stopped; a cycle was abandoned mid-request (nothing of it is stored)")
    return idle

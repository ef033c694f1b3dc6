"""``metrics-auditor run``: scheduled audit cycles, ``/metrics``, ``/healthz``, ``/readyz``.

One cycle at start, then one every ``AUDITOR_AUDIT_INTERVAL``; never two at once.
Cycles are stored under the source's writer lease: a second auditor for the same source (a rolling
deploy, an HA pair) evaluates and exports but stores nothing until the lease lapses.
SIGHUP reloads the budgets file (it is also reloaded whenever it changes on disk).
SIGTERM/SIGINT stop the scheduler, abandon a running cycle at its next request
(it stores nothing: the write is one transaction at its end) and exit 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client import CollectorRegistry

from auditor import reporting
from auditor.durations import format_duration
from auditor.errors import AuditorError, CycleCancelled
from auditor.export.http import HttpServer, make_app
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.service import Auditor
from auditor.store.compaction import Retention, compact
from auditor.store.repository import Writer

log = logging.getLogger(__name__)
STOP_GRACE_SECONDS = 5.0
REPORT_MAKEUP_DELAY = timedelta(seconds=30)
COMPACTION_FIRST_DELAY = timedelta(minutes=1)


def safe_cycle(auditor: Auditor, cancel: threading.Event) -> None:
    """Run one cycle; a failure is logged in one line and counted, never raised into the scheduler."""
    try:
        auditor.scheduled_cycle(cancel)
    except CycleCancelled:
        log.info("cycle abandoned: the daemon is stopping")
    except AuditorError as exc:
        log.error("cycle failed (%s): %s", exc.reason, exc)
    except Exception:
        auditor.stats.record_failure("internal", 0.0)
        log.exception("cycle failed with an unexpected error")


def safe_compaction(auditor: Auditor) -> None:
    """Roll history up and apply the retention; in its own transactions, never in a cycle's. Never raises."""
    retention = auditor.settings.retention
    try:
        result = compact(auditor.store, datetime.now(UTC), Retention(retention.raw, retention.hourly, retention.daily))
    except AuditorError as exc:
        log.error("compaction failed (retried at its next run): %s", exc)
        return
    except Exception:
        log.exception("compaction failed with an unexpected error")
        return
    if result.hours or result.days or result.raw_snapshots_pruned or result.rollups_pruned:
        log.info(
            "compaction: %d hours and %d days rolled up, raw rows of %d cycles and %d rollups pruned%s",
            result.hours, result.days, result.raw_snapshots_pruned, result.rollups_pruned,
            "" if result.complete else " (time budget spent: the rest at the next run)",
        )  # fmt: skip


def safe_report(auditor: Auditor, makeup: CronTrigger | None) -> None:
    """Write last week's report; with ``makeup`` (the schedule), only if its run was missed. Never raises."""
    settings, now = auditor.settings, datetime.now(UTC)
    try:
        source = auditor.source()
        period = reporting.last_week(now, settings.timezone)
        if makeup is not None:
            fire = makeup.get_next_fire_time(None, reporting.week_start(now, settings.timezone))
            missed = reporting.missed(settings, source, now, fire)
            if missed is None:
                return
            log.info("the report of %s was missed (the daemon was down at its time): writing it now", missed.label)
        reporting.write_scheduled(auditor.store, settings, source, period, auditor.budgets.current())
    except (AuditorError, OSError) as exc:
        log.error("weekly report not written: %s", exc)
    except Exception:
        log.exception("weekly report failed with an unexpected error")


class Daemon:
    def __init__(self, auditor: Auditor) -> None:
        self.auditor = auditor
        auditor.writer = Writer(f"{socket.gethostname()}:{os.getpid()}", auditor.stale_after)
        self.stop_requested = threading.Event()
        self.reload_requested = threading.Event()
        self._cancel = threading.Event()
        self._scheduler = BackgroundScheduler(timezone=UTC)
        registry = CollectorRegistry(auto_describe=False)
        settings = auditor.settings
        interval = settings.audit_interval.total_seconds()
        registry.register(SelfMetricsCollector(auditor.stats, auditor.budgets, settings.export, interval))
        host, port = auditor.settings.listen_host_port
        self.http = HttpServer(host, port, make_app(registry, self._health, auditor.readiness))

    def start(self) -> None:
        interval = self.auditor.settings.audit_interval.total_seconds()
        self._scheduler.add_job(
            safe_cycle,
            IntervalTrigger(seconds=interval, timezone=UTC),
            args=[self.auditor, self._cancel],
            id="audit",
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(interval)),
        )
        self._schedule_reports()
        compaction = self.auditor.settings.compaction_interval.total_seconds()
        self._scheduler.add_job(
            safe_compaction,
            IntervalTrigger(seconds=compaction, timezone=UTC),
            args=[self.auditor],
            id="compaction",
            next_run_time=datetime.now(UTC) + COMPACTION_FIRST_DELAY,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(compaction)),
        )
        self.http.start()
        self._scheduler.start()
        log.info(
            "metrics-auditor running: prometheus=%s database=%s interval=%s listening on %s",
            self.auditor.settings.prometheus_url_for_logs,
            self.auditor.settings.database_url_for_logs,
            format_duration(self.auditor.settings.audit_interval),
            self.auditor.settings.listen_address,
        )

    def _schedule_reports(self) -> None:
        """Last week's report on ``AUDITOR_REPORT_SCHEDULE``; one missed while the daemon was down is made up."""
        settings = self.auditor.settings
        trigger = CronTrigger.from_crontab(settings.report_schedule, timezone=ZoneInfo(settings.timezone))
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 6 * 3600}
        self._scheduler.add_job(safe_report, trigger, args=[self.auditor, None], id="report", **common)
        makeup_at = datetime.now(UTC) + REPORT_MAKEUP_DELAY  # after the first cycle has named the source
        self._scheduler.add_job(
            safe_report, "date", run_date=makeup_at, args=[self.auditor, trigger], id="makeup", **common
        )

    def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> bool:
        """Stop scheduling, abandon a running cycle; True when nothing is left running."""
        self._cancel.set()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        idle = self.auditor.wait_idle(grace_seconds)
        self.http.stop()
        return idle

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
                log.info("received SIGHUP: reloading the budgets file")
                self.auditor.budgets.reload()


def run(auditor: Auditor) -> bool:
    """Run until SIGTERM/SIGINT; returns False when a cycle was still running at exit."""
    daemon = Daemon(auditor)
    daemon.install_signal_handlers()
    try:
        daemon.start()
        daemon.serve_until_stopped()
    finally:
        idle = daemon.stop()
    log.info("stopped" if idle else "stopped; a cycle was abandoned mid-request (nothing of it is stored)")
    return idle

"""The daemon's scheduled jobs (a cycle, compaction, the weekly report), each guarded: they never raise into the
scheduler, and a failure is one log line (a bug, its traceback)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from apscheduler.triggers.cron import CronTrigger

from auditor.app import reporting
from auditor.app.cycle import Auditor
from auditor.core import calendar
from auditor.core.errors import AuditorError, CycleCancelled
from auditor.store.compaction import Retention, compact

log = logging.getLogger("auditor.app.daemon")


_R = TypeVar("_R")


def guarded(
    what: str, run: Callable[[], _R], failed: _R, *, failure: str = "failed",
    expected: tuple[type[Exception], ...] = (AuditorError,),
) -> _R:  # fmt: skip
    """``run()``, or ``failed`` after one log line: the daemon's jobs never raise into the scheduler.

    An expected error (the project's, or what ``expected`` adds) is one line saying what failed and why; any
    other is a bug, logged with its traceback. A cancelled cycle (the daemon stopping) is neither.
    """
    try:
        return run()
    except CycleCancelled:
        log.info("%s abandoned: the daemon is stopping", what)
    except expected as exc:
        reason = f" ({exc.reason})" if isinstance(exc, AuditorError) else ""
        log.error("%s %s%s: %s", what, failure, reason, exc)
    except Exception:
        log.exception("%s %s with an unexpected error", what, failure)
    return failed


def safe_cycle(auditor: Auditor, cancel: threading.Event) -> None:
    """Run one cycle; a failure is logged in one line and counted, never raised into the scheduler."""

    def cycle() -> None:
        try:
            auditor.scheduled_cycle(cancel)
        except AuditorError:
            raise  # counted by the cycle itself
        except Exception:
            auditor.stats.record_failure("internal", 0.0)
            raise

    guarded("cycle", cycle, None)


def safe_compaction(auditor: Auditor) -> bool:
    """Roll history up and apply the retention, in its own transactions; False when it failed. Never raises."""
    retention = auditor.settings.retention

    def run() -> bool:
        keep = Retention(retention.raw, retention.hourly, retention.daily)
        result = compact(auditor.store, auditor.clock.now(), keep, monotonic=auditor.clock.monotonic)
        if result.hours or result.days or result.raw_snapshots_pruned or result.rollups_pruned:
            log.info(
                "compaction: %d hours and %d days rolled up, raw rows of %d cycles and %d rollups pruned%s",
                result.hours, result.days, result.raw_snapshots_pruned, result.rollups_pruned,
                "" if result.complete else " (time budget spent: the rest at the next run)",
            )  # fmt: skip
        return True

    return guarded("compaction", run, False, failure="failed (retried at its next run)")


def safe_report(auditor: Auditor, makeup: CronTrigger | None, webhook: reporting.Poster | None = None) -> bool | None:
    """Write last week's report from the store alone; with ``makeup`` (the schedule), only if its run was missed.

    True when written, False when it failed, None when there was nothing to write. Never raises.
    """
    settings, now = auditor.settings, auditor.clock.now()

    def run() -> bool | None:  # None: nothing to write
        source = reporting.report_source(auditor.store, settings, auditor.known_source)
        if source is None:
            log.info("no weekly report yet: no cycle is stored (or several sources: set AUDITOR_SOURCE)")
            return None
        period = calendar.last_week(now, settings.timezone)
        if makeup is not None:
            fire = makeup.get_next_fire_time(None, calendar.week_start(now, settings.timezone))
            missed = reporting.missed(settings, source, now, fire)
            if missed is None:
                return None
            log.info("the report of %s was missed (the daemon was down at its time): writing it now", missed.label)
        budgets = auditor.budgets.current()
        reporting.write_scheduled(auditor.store, settings, source, period, budgets, webhook=webhook, generated=now)
        return True

    failed: bool | None = False
    return guarded(
        "weekly report", run, failed, failure="not written or not delivered", expected=(AuditorError, OSError)
    )

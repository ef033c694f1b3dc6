"""The daemon's running figures about its own cycles, written by the cycle and read as one ``StatsView``."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import replace
from datetime import datetime

from auditor.core.domain import Census
from auditor.core.fixes import FixSummary
from auditor.core.histograms import Inventory
from auditor.evaluate.usage import UsageSummary
from auditor.export.stats import CycleDetails, IoState, StatsView


class CycleStats:
    """Thread-safe counters; ``view()`` gives a consistent copy for one scrape."""

    def __init__(self, last_success: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._view = StatsView(last_success=last_success)
        self._failures: Counter[str] = Counter()

    def record_success(
        self, census: Census, duration: float, details: CycleDetails | None = None, database_up: bool = True
    ) -> None:
        with self._lock:
            view = self._view
            self._view = replace(
                view,
                successes=view.successes + 1,
                duration_sum=view.duration_sum + duration,
                last_duration=duration,
                last_success=census.collected_at,
                prometheus_up=True,
                database_up=database_up,
                census=census,
                details=details,
            )

    def record_failure(
        self, reason: str, duration: float, prometheus_up: bool | None = None, database_up: bool | None = None
    ) -> None:
        with self._lock:
            self._failures[reason] += 1
            view = self._view
            self._view = replace(
                view,
                failures=dict(self._failures),
                duration_sum=view.duration_sum + duration,
                last_duration=duration,
                prometheus_up=view.prometheus_up if prometheus_up is None else prometheus_up,
                database_up=view.database_up if database_up is None else database_up,
            )

    def record_usage(self, summary: UsageSummary, failures: int) -> None:
        with self._lock:
            self._view = replace(self._view, usage=summary, usage_read_failures=failures)

    def record_fixes(self, fixes: FixSummary) -> None:
        with self._lock:
            self._view = replace(self._view, fixes=fixes)

    def record_histograms(self, inventory: Inventory) -> None:
        with self._lock:
            self._view = replace(self._view, histograms=inventory)

    def record_skip(self, reason: str) -> None:
        with self._lock:
            skipped = dict(self._view.skipped)
            skipped[reason] = skipped.get(reason, 0) + 1
            self._view = replace(self._view, skipped=skipped)

    def record_io(self, io: IoState) -> None:
        with self._lock:
            self._view = replace(self._view, io=io)

    def view(self) -> StatsView:
        with self._lock:
            return self._view

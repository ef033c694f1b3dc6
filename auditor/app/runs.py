"""What the daemon's background work did (scheduled jobs, reloads), kept for its self-metrics and alerts."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import Metric

from auditor.export.runmetrics import (
    BACKGROUND_JOBS,
    JobRunsView,
    ReloadsView,
    job_run_families,
    reload_families,
)


class JobRuns:
    """Runs of the background jobs (compaction, report) by result, for self-metrics and an alert."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: Counter[tuple[str, str]] = Counter()
        self._last_failed: dict[str, bool] = dict.fromkeys(BACKGROUND_JOBS, False)

    def record(self, job: str, ok: bool | None) -> None:
        if ok is None:
            return
        with self._lock:
            self._runs[(job, "success" if ok else "failure")] += 1
            self._last_failed[job] = not ok

    def view(self) -> JobRunsView:
        with self._lock:
            return JobRunsView(dict(self._runs), dict(self._last_failed))

    def collect(self) -> Iterator[Metric]:
        return job_run_families(self.view())


class ReloadRuns:
    """Configuration reloads on SIGHUP, by result, and whether the last one took."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: Counter[str] = Counter()
        self._last_ok = True

    def record(self, ok: bool) -> None:
        with self._lock:
            self._runs["success" if ok else "failure"] += 1
            self._last_ok = ok

    def view(self) -> ReloadsView:
        with self._lock:
            return ReloadsView(dict(self._runs), self._last_ok)

    def collect(self) -> Iterator[Metric]:
        return reload_families(self.view())

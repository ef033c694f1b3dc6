"""What the daemon's background work did, for its self-metrics and alerts: scheduled jobs and reloads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from auditor.export.families import PREFIX


class JobRuns:
    """Runs of the background jobs (compaction, report) by result, for self-metrics and an alert."""

    JOBS = ("compaction", "report")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: Counter[tuple[str, str]] = Counter()
        self._last_failed: dict[str, bool] = dict.fromkeys(self.JOBS, False)

    def record(self, job: str, ok: bool | None) -> None:
        if ok is None:
            return
        with self._lock:
            self._runs[(job, "success" if ok else "failure")] += 1
            self._last_failed[job] = not ok

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            runs, last_failed = Counter(self._runs), dict(self._last_failed)
        total = CounterMetricFamily(
            PREFIX + "background_job_runs", "Runs of the background jobs (compaction, report), by result.",
            labels=["job", "result"],
        )  # fmt: skip
        failed = GaugeMetricFamily(
            PREFIX + "background_job_last_run_failed",
            "1 while the last run of the job failed (until one succeeds), else 0.",
            labels=["job"],
        )
        for job in self.JOBS:
            for result in ("success", "failure"):
                total.add_metric([job, result], runs[(job, result)])
            failed.add_metric([job], int(last_failed[job]))
        yield total
        yield failed


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

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            runs, last_ok = Counter(self._runs), self._last_ok
        reloads = CounterMetricFamily(
            PREFIX + "config_reloads", "Configuration reloads on SIGHUP, by result.", labels=["result"]
        )
        for result in ("success", "failure"):
            reloads.add_metric([result], runs[result])
        yield reloads
        yield GaugeMetricFamily(
            PREFIX + "config_last_reload_successful",
            "1 if the last configuration reload worked (or none was asked for), 0 if the last good one stays.",
            value=int(last_ok),
        )

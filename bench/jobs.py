"""The job census' cost (issue 16): a stand-in with 2,000 targets in 100 jobs, cycles with and without it.

Whole audit cycles in this process against ``bench.fake_prometheus --jobs 100 --targets 20`` (10,000
metrics), stored in SQLite: the added cycle time and requests, and the size of the self-metrics a
scrape of the auditor returns (one series per job per family, never per target).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import func, select

from auditor.app.wiring import build_auditor
from auditor.config.settings import JobsSettings, Settings
from auditor.core.cycle import CycleRecord
from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.store import Store, make_engine, upgrade
from auditor.store.compaction import Retention, compact
from auditor.store.models import JobSeries, TargetSeries
from tests.support.builders import CLOCK

JOBS, TARGETS, RUNS = 100, 20, 7


def cycles(url: str, enabled: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        settings = Settings(prometheus_url=url, source="bench-jobs", jobs=JobsSettings(enabled=enabled))
        seconds, requests = [], 0
        with (
            build_auditor(settings, engine=engine) as auditor,
        ):
            for _ in range(RUNS):
                before = auditor.prometheus.requests
                started = time.perf_counter()
                auditor.run_cycle()
                seconds.append(time.perf_counter() - started)
                requests = auditor.prometheus.requests - before
            registry = CollectorRegistry(auto_describe=False)
            registry.register(SelfMetricsCollector(auditor.stats, auditor.budgets, export=auditor.settings.export))
            exposition = generate_latest(registry).decode()
        engine.dispose()
    job_lines = [line for line in exposition.splitlines() if line.startswith("metrics_auditor_job")]
    return {
        "cycle_s": statistics.median(seconds),
        "requests": requests,
        "exposition_bytes": len(exposition.encode()),
        "job_series": len(job_lines),
        "per_target_series": sum('instance="' in line for line in job_lines),
    }


def history() -> dict[str, Any]:
    """Six hours of one-minute cycles of 100 jobs (5 listed targets each), a tenth of the jobs changing per
    cycle: rows stored against whole censuses, compaction of those hours, and the reads a cycle adds
    (the hourly maxima of every job over the 3-day forecast window, and one growth baseline)."""
    hours, changing = 6, JOBS // 10
    start = datetime(2026, 11, 20, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'history.db'}")
        upgrade(engine)
        store = Store(engine)
        sizes = {f"bench-job-{j:03d}": 1000 + 50 * j for j in range(JOBS)}
        started = time.perf_counter()
        for minute in range(hours * 60):
            for j in range(changing):
                name = f"bench-job-{(minute * changing + j) % JOBS:03d}"
                sizes[name] += 1
            store.save(CycleRecord(_census(start + timedelta(minutes=minute)), "u", 0.1, jobs=_jobs(sizes)))
        write_s = (time.perf_counter() - started) / (hours * 60)
        with engine.connect() as conn:
            stored = sum(
                conn.execute(select(func.count()).select_from(m)).scalar_one() for m in (JobSeries, TargetSeries)
            )
        now = start + timedelta(hours=hours - 1, minutes=59)
        started = time.perf_counter()
        store.job_hours("prod", now - timedelta(days=3))
        raw_read_s = time.perf_counter() - started
        started = time.perf_counter()
        compact(store, start + timedelta(hours=hours, minutes=50), Retention(timedelta(days=1), timedelta(days=14),
                timedelta(days=400)), monotonic=CLOCK.monotonic)  # fmt: skip
        compact_s = time.perf_counter() - started
        started = time.perf_counter()
        trend = store.job_hours("prod", now - timedelta(days=3))
        store.job_hour_max("prod", start)
        read_s = time.perf_counter() - started
        engine.dispose()
    return {
        "cycles": hours * 60, "rows_stored": stored, "rows_whole": hours * 60 * JOBS * 6,
        "write_ms": write_s * 1000, "compact_s": compact_s, "read_ms": read_s * 1000,
        "raw_read_ms": raw_read_s * 1000, "trend_points": sum(len(points) for points in trend.values()),
    }  # fmt: skip


def _census(at: datetime) -> Census:
    return Census("prod", at, "2.53.0", CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, HeadStats(1, 1, 1, 0, 0), {"m": 1})


def _jobs(sizes: dict[str, int]) -> JobCensus:
    return JobCensus({
        job: JobStats(job, series, TARGETS, 0,
                      tuple(TargetStats(f"{job}-t{t}:9100", series // TARGETS + t) for t in range(5)),
                      {"sample_limit": 5000})
        for job, series in sizes.items()
    })  # fmt: skip


def run(url: str) -> dict[str, Any]:
    return {
        "jobs": JOBS, "targets": JOBS * TARGETS, "off": cycles(url, False), "on": cycles(url, True),
        "history": history(),
    }  # fmt: skip

"""The job census' cost (issue 16): a stand-in with 2,000 targets in 100 jobs, cycles with and without it.

Whole audit cycles in this process against ``bench.fake_prometheus --jobs 100 --targets 20`` (10,000
metrics), stored in SQLite: the added cycle time and requests, and the size of the self-metrics a
scrape of the auditor returns (one series per job per family, never per target).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from auditor.app.wiring import build_auditor
from auditor.config.settings import JobsSettings, Settings
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.store import make_engine, upgrade

JOBS, TARGETS, RUNS = 100, 20, 7


def cycles(url: str, enabled: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        settings = Settings(prometheus_url=url, source="bench-jobs", jobs=JobsSettings(enabled=enabled))  # type: ignore[call-arg]
        seconds, requests = [], 0
        with (
            httpx.Client(base_url=url, timeout=60) as http,
            build_auditor(settings, http=http, engine=engine) as auditor,
        ):
            for _ in range(RUNS):
                before = auditor.prometheus.requests
                started = time.perf_counter()
                auditor.run_cycle()
                seconds.append(time.perf_counter() - started)
                requests = auditor.prometheus.requests - before
            registry = CollectorRegistry(auto_describe=False)
            registry.register(SelfMetricsCollector(auditor.stats, auditor.budgets))
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


def run(url: str) -> dict[str, Any]:
    return {"jobs": JOBS, "targets": JOBS * TARGETS, "off": cycles(url, False), "on": cycles(url, True)}

"""Many sidecars, one PostgreSQL: 20 sources writing 10,000-metric cycles at the same moment.

Each source is its own process (as sidecars are), with its own engine, writing through the store
(`Store.save`: one transaction, COPY for the per-metric rows). All start a cycle together,
the worst case for contention. A warm-up cycle fills the shared metric-name dictionary first (the
20 sources hold the same 10,000 names). Measured: the write time of one cycle alone, then
the write times when 20 write at once (median, p95, max), and the cycles stored per second together
against alone: on a machine with fewer cores than writers, each write waits for CPU, so the
throughput ratio (near 1: the writers do not block each other) says more than the latency ratio.
Every cycle must be stored, with no error and no duplicate name.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from auditor.core.cycle import CycleRecord
from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.store import Store, make_engine, upgrade
from auditor.store.models import MetricName, Snapshot

METRICS = 10_000
T0 = datetime(2026, 11, 20, tzinfo=UTC)


def census(source: str, cycle: int) -> Census:
    metrics = {f"bench_metric_{i}_total": 50_000 // i + cycle * (i % 3) for i in range(1, METRICS + 1)}
    head = HeadStats(sum(metrics.values()), 1, 1, 0, 0)
    return Census(source, T0 + timedelta(minutes=5 * cycle), "2.53.0", CensusMethod.TSDB_STATUS,
                  SeriesNotion.HEAD, head, metrics)  # fmt: skip


def _writer(database_url: str, source: str, cycles: int, barrier: Any, results: Any) -> None:
    engine = make_engine(database_url)
    store = Store(engine)
    durations = []
    for cycle in range(cycles):
        data = census(source, cycle)
        barrier.wait()
        started = time.perf_counter()
        store.save(CycleRecord(data, "bench", 0.1))
        durations.append(time.perf_counter() - started)
    engine.dispose()
    results.put((source, durations))


def _run(database_url: str, sources: int, cycles: int) -> list[list[float]]:
    """Per source, the write time of each of its cycles."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(sources), context.Queue()
    names = [f"sidecar-{sources}-{i:02d}" for i in range(sources)]
    processes = [context.Process(target=_writer, args=(database_url, n, cycles, barrier, results)) for n in names]
    for process in processes:
        process.start()
    durations = [results.get(timeout=600)[1] for _ in processes]
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"a writer failed with exit code {process.exitcode}")
    return durations


def _summary(per_source: list[list[float]]) -> dict[str, float]:
    ordered = sorted(d for durations in per_source for d in durations)
    rounds = [max(durations[r] for durations in per_source) for r in range(len(per_source[0]))]
    return {
        "median_s": statistics.median(ordered),
        "p95_s": ordered[max(0, round(0.95 * len(ordered)) - 1)],
        "max_s": ordered[-1],
        "cycles_per_s": len(ordered) / sum(rounds),
    }


def run(database_url: str, sources: int = 20, cycles: int = 3) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    _run(database_url, 1, 1)  # warm-up: the metric-name dictionary
    alone = _summary(_run(database_url, 1, cycles))
    together = _summary(_run(database_url, sources, cycles))
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(Snapshot)).scalar_one()
        names = conn.execute(select(func.count()).select_from(MetricName)).scalar_one()
    engine.dispose()
    return {
        "sources": sources,
        "cycles_each": cycles,
        "alone": alone,
        "together": together,
        "median_ratio": together["median_s"] / alone["median_s"],
        "throughput_ratio": together["cycles_per_s"] / alone["cycles_per_s"],
        "cycles_stored": stored,
        "cycles_expected": 1 + cycles * (sources + 1),
        "metric_names": names,
    }

"""History at scale: 90 days of 5-minute history of 10,000 metrics in the tiered layout, on PostgreSQL.

The history is written through the store layer, shaped as the compaction job leaves it with the
default retention: the cycle records of 90 days (``backfill.cycle_records``), daily rollups of 90 days
and hourly rollups of the last 14 (``backfill.rollups``, the compaction job's own writer), and the raw
per-metric rows of the last day through ``Store.save`` (288 real writes, COPY included).
Measured: the database size (target: under 1 GiB), the weekly report (under 3 s), and the growth
check of one cycle over that history (windows 1d, 7d, 30d).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from auditor.app.cycle_inputs import evaluation_input
from auditor.app.reporting import gather
from auditor.config.budgets import load_budgets
from auditor.config.settings import Settings
from auditor.core.budgets import default_budgets
from auditor.core.calendar import week_period
from auditor.core.cycle import CycleRecord
from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion, Tier
from auditor.evaluate import evaluate
from auditor.evaluate.report import build
from auditor.export.report_render import render
from auditor.store import Store, backfill, make_engine, upgrade
from auditor.store.hourly import HourlyMaxima

METRICS = 10_000
WEEK = week_period("2026-W47", "UTC")


def _series(names: list[str], at: datetime) -> dict[str, int]:
    """Series of each metric at ``at``: a long tail, six metrics in seven growing slowly, hour by hour."""
    hour = int(at.timestamp() // 3600)
    return {name: 50_000 // i + hour % 10_000 * (i % 7) // 40 for i, name in enumerate(names, 1)}


def _flat(series: dict[str, int]) -> dict[str, tuple[int, int, int]]:
    """max, min and last of a bucket in which nothing moved."""
    return {name: (n, n, n) for name, n in series.items()}


def _every(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    return [start + i * step for i in range(int((end - start) / step))]


def generate(database_url: str, days: int) -> dict[str, Any]:
    """The history, written through the store: the layout is whatever the product writes."""
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine)
    end = WEEK.end
    start, raw_from, hours_from = end - timedelta(days=days), end - timedelta(days=1), end - timedelta(days=14)
    names = [f"bench_metric_{i}_total" for i in range(1, METRICS + 1)]
    head = HeadStats(480_000, 1, 1, 0, 0)
    template = Census(
        "bench", start, "2.53.0", CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, head, dict.fromkeys(names, 1)
    )
    cycles = _every(start, end, timedelta(minutes=5))
    started = time.perf_counter()
    backfill.cycle_records(store, "bench", "u", (replace(template, collected_at=t) for t in cycles if t < raw_from))
    for day in _every(start, end, timedelta(days=1)):  # in the order the compaction job writes them
        if day >= hours_from:
            hours = _every(day, day + timedelta(days=1), timedelta(hours=1))
            backfill.rollups(store, "bench", Tier.HOUR, "head", ((h, _flat(_series(names, h))) for h in hours))
        backfill.rollups(store, "bench", Tier.DAY, "head", [(day, _flat(_series(names, day)))])
    for at in (t for t in cycles if t >= raw_from):
        store.save(CycleRecord(replace(template, collected_at=at, metrics=_series(names, at)), "u", 0.3))
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        counts = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("metric_series", "metric_rollups", "snapshots")
        }
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return {"days": days, "rows": counts, "database_bytes": size, "generate_s": time.perf_counter() - started}


def measure_report(database_url: str, repeats: int = 3) -> dict[str, float]:
    engine = make_engine(database_url)
    store = Store(engine)
    settings = Settings(source="bench")
    times: dict[str, list[float]] = {"gather+build": [], "markdown": [], "html": [], "json": []}
    for _ in range(repeats):
        started = time.perf_counter()
        report = build(gather(store, settings, "bench", WEEK, budgets=default_budgets()))
        times["gather+build"].append(time.perf_counter() - started)
        for fmt in ("markdown", "html", "json"):
            started = time.perf_counter()
            render(report, fmt)
            times[fmt].append(time.perf_counter() - started)
    engine.dispose()
    medians = {k: statistics.median(v) for k, v in times.items()}
    return medians | {"total_html": medians["gather+build"] + medians["html"]}


def measure_growth(database_url: str) -> dict[str, float]:
    """One cycle's growth check (1d, 7d, 30d windows on every metric): the first of an hour, then the others."""
    engine = make_engine(database_url)
    store = Store(engine)
    at = WEEK.end - timedelta(minutes=1)
    metrics = {f"bench_metric_{i}_total": 50000 // i + 5 for i in range(1, METRICS + 1)}
    census = Census(
        "bench", at, "2.53.0", CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, HeadStats(1, 1, 1, 0, 0), metrics
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "budgets.yml"
        path.write_text(
            "defaults: {max_series: 100000, max_growth: {1d: 0.5, 7d: 0.2, 30d: 1.0}, growth_min_series: 1}\n"
        )
        budgets = load_budgets(path)
    settings = Settings(source="bench")
    maxima = HourlyMaxima(store)
    out: dict[str, list[float]] = {"first_cycle_of_hour_s": [], "later_cycle_s": []}
    for key in ("first_cycle_of_hour_s", "later_cycle_s", "later_cycle_s", "later_cycle_s"):
        started = time.perf_counter()
        evaluate(evaluation_input(store, census, budgets, {}, settings, maxima=maxima))
        out[key].append(time.perf_counter() - started)
    engine.dispose()
    return {k: statistics.median(v) for k, v in out.items()}


def run(database_url: str) -> dict[str, Any]:
    days = int(os.environ.get("BENCH_REPORT_DAYS", "90"))
    generated = generate(database_url, days)
    return (
        generated
        | measure_report(database_url)
        | measure_growth(database_url)
        | {"generated_at": datetime.now().astimezone().isoformat()}
    )

"""History at scale: 90 days of 5-minute history of 10,000 metrics in the tiered layout, on PostgreSQL.

The history is generated inside PostgreSQL (``INSERT ... SELECT generate_series``) straight into the
store's tables, shaped as the compaction job leaves it with the default retention: the cycle records
of 90 days, raw per-metric rows of the last day, hourly rollups of the last 14 days, daily rollups of
90 days. Measured: the database size (DESIGN 5: under 1 GiB), the weekly report (under 3 s), and the
growth check of one cycle over that history (windows 1d, 7d, 30d).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from auditor.budgets import default_budgets, load_budgets
from auditor.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.evaluate import evaluate
from auditor.evaluate.report import build
from auditor.export.report_render import render
from auditor.reporting import gather, week_period
from auditor.service import evaluation_input
from auditor.settings import Settings
from auditor.store import Store, make_engine, upgrade
from auditor.store.hourly import HourlyMaxima
from auditor.store.models import NOTIONS, TIERS

METRICS = 10_000
WEEK = week_period("2026-W47", "UTC")
VALUE = "(50000 / {m} + ({t} / 3600)::bigint * ({m} % 7) / 40)"
"""Series of metric m at unix time t: a long tail, a seventh of the metrics growing slowly."""


def _insert(conn: Any, sql: str, **params: Any) -> None:
    conn.execute(text(sql), params)


def generate(database_url: str, days: int) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    end = WEEK.end
    start, raw_from, hours_from = end - timedelta(days=days), end - timedelta(days=1), end - timedelta(days=14)
    started = time.perf_counter()
    with engine.begin() as conn:
        _insert(conn, "INSERT INTO sources (id, name, url, created_at) VALUES (1, 'bench', 'u', now())")
        names = "SELECT i, 'bench_metric_' || i || '_total' FROM generate_series(1, :n) i"
        _insert(conn, f"INSERT INTO metric_names (id, name) {names}", n=METRICS)
        _insert(
            conn,
            "INSERT INTO snapshots (id, source_id, collected_at, status, duration_seconds, method, notion,"
            " tsdb_truncated, metric_count, stale_names, head_series, drilldown_metrics, drilldown_skipped, raw_pruned)"
            " SELECT row_number() OVER (), 1, t, 'ok', 0.3, 'tsdb_status', 'head', false, :n, 0, 480000, 0, 0, t < :raw"
            " FROM generate_series(CAST(:start AS timestamptz), CAST(:end AS timestamptz) - interval '5 minutes',"
            " interval '5 minutes') t",
            n=METRICS, start=start, end=end, raw=raw_from,
        )  # fmt: skip
        value = VALUE.format(m="m.i", t="extract(epoch from s.collected_at)")
        _insert(
            conn,
            f"INSERT INTO metric_series (snapshot_id, metric_id, series) SELECT s.id, m.i, {value}"
            " FROM snapshots s CROSS JOIN generate_series(1, :n) AS m(i) WHERE NOT s.raw_pruned",
            n=METRICS,
        )
        for tier, step, since in (("hour", "1 hour", hours_from), ("day", "1 day", start)):
            value = VALUE.format(m="m.i", t="extract(epoch from b)")
            _insert(
                conn,
                "INSERT INTO metric_rollups (source_id, tier, notion, bucket_start, metric_id, max_series, min_series,"
                f" last_series) SELECT 1, {TIERS.index(tier) + 1}, {NOTIONS.index('head') + 1}, b, m.i,"
                f" {value}, {value}, {value}"
                f" FROM generate_series(CAST(:since AS timestamptz), CAST(:end AS timestamptz) - interval '{step}',"
                f" interval '{step}') b CROSS JOIN generate_series(1, :n) AS m(i)",
                since=since, end=end, n=METRICS,
            )  # fmt: skip
        _insert(conn, "INSERT INTO rollup_progress VALUES (1, 'hour', :end), (1, 'day', :end)", end=end)
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
    settings = Settings(source="bench")  # type: ignore[call-arg]
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
    settings = Settings(source="bench")  # type: ignore[call-arg]
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

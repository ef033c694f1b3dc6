"""Weekly report over generated 5-minute history of 10,000 metrics on PostgreSQL (DESIGN 5: under 3 s).

The history is generated inside PostgreSQL (``INSERT ... SELECT generate_series``), straight into the
store's tables, not through real cycles. ``BENCH_REPORT_DAYS`` (default 7) sets its length.
"""

from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from auditor.budgets import default_budgets
from auditor.evaluate.report import build
from auditor.export.report_render import render
from auditor.reporting import gather, week_period
from auditor.settings import Settings
from auditor.store import Store, make_engine, upgrade

METRICS = 10_000
WEEK = week_period("2026-W47", "UTC")


def generate(database_url: str, days: int) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    start = WEEK.end - timedelta(days=days)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, url, created_at) VALUES (1, 'bench', 'u', now())"))
        names = "SELECT i, 'bench_metric_' || i || '_total' FROM generate_series(1, :n) i"
        conn.execute(text(f"INSERT INTO metric_names (id, name) {names}"), {"n": METRICS})
        conn.execute(
            text(
                "INSERT INTO snapshots (id, source_id, collected_at, status, duration_seconds, method, notion,"
                " tsdb_truncated, metric_count, stale_names, head_series, drilldown_metrics, drilldown_skipped)"
                " SELECT row_number() OVER (), 1, t, 'ok', 0.3, 'tsdb_status', 'head', false, :n, 0, 480000, 0, 0"
                " FROM generate_series(CAST(:start AS timestamptz), CAST(:end AS timestamptz) - interval '5 minutes',"
                " interval '5 minutes') t"
            ),
            {"n": METRICS, "start": start, "end": WEEK.end},
        )
        conn.execute(
            text(
                "INSERT INTO metric_series (snapshot_id, metric_id, series)"
                " SELECT s.id, m.i, 50000 / m.i + (s.id * (m.i % 7)) / 500"
                " FROM snapshots s CROSS JOIN generate_series(1, :n) AS m(i)"
            ),
            {"n": METRICS},
        )
        conn.execute(text("ANALYZE"))
        rows = conn.execute(text("SELECT count(*) FROM metric_series")).scalar_one()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return {"days": days, "rows": rows, "database_bytes": size, "generate_s": time.perf_counter() - started}


def measure(database_url: str, repeats: int = 3) -> dict[str, Any]:
    engine = make_engine(database_url)
    store = Store(engine)
    settings = Settings(source="bench")  # type: ignore[call-arg]
    budgets = default_budgets()
    times: dict[str, list[float]] = {"gather+build": [], "markdown": [], "html": [], "json": []}
    for _ in range(repeats):
        started = time.perf_counter()
        report = build(gather(store, settings, "bench", WEEK, budgets=budgets))
        times["gather+build"].append(time.perf_counter() - started)
        for fmt in ("markdown", "html", "json"):
            started = time.perf_counter()
            render(report, fmt)
            times[fmt].append(time.perf_counter() - started)
    engine.dispose()
    medians = {k: statistics.median(v) for k, v in times.items()}
    medians["total_html"] = medians["gather+build"] + medians["html"]
    return medians


def run(database_url: str) -> dict[str, Any]:
    days = int(os.environ.get("BENCH_REPORT_DAYS", "7"))
    return generate(database_url, days) | measure(database_url) | {"generated_at": datetime.now(UTC).isoformat()}

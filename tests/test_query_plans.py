"""Indexes serve the queries the product runs: EXPLAIN every read of a cycle, a report, history and compaction.

Each statement the store sends while the daemon's work runs is captured and explained on the same
database. On PostgreSQL sequential scans are priced out (``enable_seqscan=off``), so a plan that still
reads the whole of a history table (a sequential scan, or an index scan without an index condition)
has no index it can use; on SQLite, ``EXPLAIN QUERY PLAN`` names a full ``SCAN`` the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from auditor.app.cycle_inputs import evaluation_input
from auditor.app.reporting import gather
from auditor.config.budgets import load_budgets
from auditor.config.settings import Settings
from auditor.core.calendar import week_period
from auditor.store import Store
from auditor.store.compaction import Retention, compact
from tests.support.builders import CLOCK, census, save_census

HISTORY_TABLES = ("metric_series", "metric_rollups", "label_stats", "label_drilldown")
T0 = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith(("SELECT", "DELETE", "UPDATE", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def full_scans(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The history tables this statement reads whole."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
            (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
            conn.rollback()
            return sorted({node["Relation Name"] for node in _nodes(plan["Plan"]) if _reads_whole(node)})
        plan = "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))
        return [t for t in HISTORY_TABLES if re.search(rf"\bSCAN {t}\b(?! USING (COVERING )?INDEX)", plan)]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _reads_whole(node: dict[str, Any]) -> bool:
    """A sequential scan, or an index scan without a condition (the whole index, in order)."""
    if node.get("Relation Name") not in HISTORY_TABLES:
        return False
    if node["Node Type"] == "Seq Scan":
        return True
    return node["Node Type"] in {"Index Scan", "Index Only Scan"} and "Index Cond" not in node


def seed(store: Store) -> None:
    """Three weeks of hourly cycles of 30 metrics, compacted: raw rows for the last day, rollups before."""
    for hour in range(21 * 24):
        metrics = {f"m{i}": 10 + i + hour // 24 for i in range(30)}
        save_census(store, census(metrics, T0 + timedelta(hours=hour)), "u", 0.1)
    compact(
        store,
        T0 + timedelta(days=21),
        Retention(timedelta(days=1), timedelta(days=14), timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )


def test_every_read_of_the_product_is_served_by_an_index(engine: Engine, tmp_path: Path) -> None:
    store = Store(engine)
    seed(store)
    (tmp_path / "budgets.yml").write_text("defaults: {max_series: 100, max_growth: {1d: 0.5, 7d: 0.2}}\n")
    budgets = load_budgets(tmp_path / "budgets.yml")
    settings = Settings(source="prod")  # type: ignore[call-arg]
    now = T0 + timedelta(days=21)
    with captured(engine) as statements:
        evaluation_input(store, census({f"m{i}": 40 for i in range(30)}, now), budgets, {}, settings)
        store.history("prod", "m3", now - timedelta(days=20))
        store.hourly_max("prod", "active", ["m1", "m2"], now - timedelta(days=10))
        gather(store, settings, "prod", week_period("2026-W48", "UTC"), budgets=budgets)
        compact(
            store,
            now + timedelta(days=2),
            Retention(timedelta(days=1), timedelta(days=14), timedelta(days=400)),
            monotonic=CLOCK.monotonic,
        )

    assert len(statements) > 20
    scans = {
        statement: found for statement, parameters in statements if (found := full_scans(engine, statement, parameters))
    }
    assert scans == {}

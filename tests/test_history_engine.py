"""A database the store of schema 0011 wrote, read and compacted by today's history engine on both backends.

``tests/fixtures/head_0011.json`` holds the rows and the answers of the code before the engine
(``tests/fixtures/freeze_head.py``): the same questions must get the same answers, before and after
compacting the rest, and a cycle written on top is stored and rolled up like any other.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Date, Engine, func, select, text

from auditor.core.domain import SeriesNotion, Tier
from auditor.store import Store, make_engine
from auditor.store.compaction import compact
from auditor.store.migrate import alembic_config, current_revision, head_revision, upgrade
from auditor.store.models import Base, MetricRollup, UTCDateTime
from tests.fixtures.freeze_head import H0, KEEP, LATER, answers, dump, plain, prod_metrics
from tests.support.builders import CLOCK, census, save_census

FROZEN = json.loads((Path(__file__).parent / "fixtures" / "head_0011.json").read_text())


def _restored(database_url: str) -> Engine:
    """A fresh database at the frozen revision holding the frozen rows, then migrated to today's head."""
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, FROZEN["revision"])
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if rows := FROZEN["tables"].get(table.name):
                conn.execute(table.insert(), [_typed(table, row) for row in rows])
                if conn.dialect.name == "postgresql" and "id" in table.columns:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :n)"),
                                 {"n": max(row["id"] for row in rows)})  # fmt: skip
    upgrade(engine)
    return engine


def _typed(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for column in table.columns:
        value = out.get(column.name)
        if isinstance(value, str) and isinstance(column.type, UTCDateTime):
            out[column.name] = datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(column.type, Date):
            out[column.name] = date.fromisoformat(value)
    return out


def test_a_database_of_the_previous_head_reads_and_compacts_as_it_did(database_url: str) -> None:
    engine = _restored(database_url)
    store = Store(engine)
    assert current_revision(engine) == head_revision()
    assert plain(answers(store)) == FROZEN["half"], "the half-compacted history reads as the old store read it"
    compact(store, LATER, KEEP, monotonic=CLOCK.monotonic)
    assert plain(answers(store)) == FROZEN["later"], "compacted by the engine, it reads as the old store's did"
    assert {name: len(rows) for name, rows in dump(store).items()} == FROZEN["later_tables"]
    engine.dispose()


def test_a_cycle_written_on_the_old_rows_is_stored_and_rolled_up(database_url: str) -> None:
    engine = _restored(database_url)
    store = Store(engine)
    at = H0 + timedelta(hours=6, minutes=5)
    save_census(store, census(prod_metrics(99), at, notion=SeriesNotion.HEAD), "u", 0.1)
    assert store.latest_census("prod") is not None
    assert store.metric_counts(store.snapshots("prod", 1)[0].id) == prod_metrics(99)
    compact(store, LATER, KEEP, monotonic=CLOCK.monotonic)
    hour = H0 + timedelta(hours=6)
    assert store.rollup_values("prod", "head", Tier.HOUR, hour, MetricRollup.max_series) == prod_metrics(99)
    day = store.rollup_values("prod", "head", Tier.DAY, H0, MetricRollup.max_series)
    assert day["api_requests"] == prod_metrics(99)["api_requests"], "the day's maximum is the new cycle's"
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(MetricRollup)).scalar_one()
    assert stored == FROZEN["later_tables"]["metric_rollups"] + len(prod_metrics(99)), "one new hour row a metric"
    engine.dispose()

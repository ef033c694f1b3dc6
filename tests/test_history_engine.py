"""A database the store of schema 0011 wrote, read and compacted by today's history engine on both backends.

``tests/fixtures/head_0011.json`` holds the rows and the answers of the code before the engine
(``tests/fixtures/freeze_head.py``): the same questions must get the same answers, before and after
compacting the rest, and a cycle written on top is stored and rolled up like any other.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import BigInteger, Connection, Date, Engine, Integer, String, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from auditor.core.domain import LabelStats, SeriesNotion, Tier
from auditor.store import Store, compaction, make_engine
from auditor.store.compaction import compact
from auditor.store.migrate import alembic_config, current_revision, head_revision, upgrade
from auditor.store.models import TIERS, Base, Code, LabelDrilldown, MetricRollup, Snapshot, UTCDateTime
from auditor.store.rollups import History
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
    counts = {name: len(rows) for name, rows in dump(store).items()}
    assert {name: n for name, n in counts.items() if name in FROZEN["later_tables"]} == FROZEN["later_tables"]
    assert {name: n for name, n in counts.items() if name not in FROZEN["later_tables"]} == dict.fromkeys(
        set(counts) - set(FROZEN["later_tables"]), 0
    ), "tables newer than 0011 start empty"
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


class _TestBase(DeclarativeBase):
    """Outside the product's metadata: migrations and ``alembic check`` never see this table."""


class LabelRollup(_TestBase):
    """A kind of history the product does not keep yet: distinct values of a drilled label per hour and day."""

    __tablename__ = "label_rollups_test"

    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    source_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tier: Mapped[str] = mapped_column(Code(TIERS), primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(255), primary_key=True)
    max_values: Mapped[int] = mapped_column(BigInteger)
    last_values: Mapped[int] = mapped_column(BigInteger)


def label_rows(conn: Connection, source_id: int, start: datetime, end: datetime) -> Any:
    values = LabelDrilldown.value_count
    return conn.execute(
        select(LabelDrilldown.metric_id, LabelDrilldown.label, Snapshot.collected_at, values, values)
        .join(Snapshot, Snapshot.id == LabelDrilldown.snapshot_id)
        .where(Snapshot.source_id == source_id, Snapshot.collected_at >= start, Snapshot.collected_at < end)
    )


def fold_labels(rows: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
    out: dict[tuple[Any, ...], tuple[int, int, datetime]] = {}
    for metric_id, label, at, high, last in rows:
        old = out.get((metric_id, label))
        if old is None or at >= old[2]:
            out[(metric_id, label)] = (max(high, old[0]) if old else high, last, at)
        else:
            out[(metric_id, label)] = (max(high, old[0]), old[1], old[2])
    return {key: (high, last) for key, (high, last, _) in out.items()}


LABELS = History("labels", LabelRollup, keys=("metric_id", "label"), figures=("max_values", "last_values"),
                 raw=label_rows, fold=fold_labels, raw_tables=())  # fmt: skip


def test_a_new_kind_of_history_is_a_table_a_raw_reader_and_a_fold(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compaction rolls up and prunes a kind it was never written for, once it is listed."""
    _TestBase.metadata.create_all(engine)
    monkeypatch.setattr(compaction, "HISTORIES", (*compaction.HISTORIES, LABELS))
    store = Store(engine)
    drilled = [(0, 4), (20, 9), (40, 6), (70, 3)]  # (minutes after H0, distinct values of `user`)
    for minute, values in drilled:
        drilldown = {"sessions": {"user": LabelStats(values, None)}}
        save_census(store, census({"sessions": 50}, H0 + timedelta(minutes=minute)), "u", 0.1, drilldown=drilldown)
    compact(store, H0 + timedelta(days=1, minutes=10), KEEP, monotonic=CLOCK.monotonic)
    with engine.connect() as conn:
        sessions = store.metric_ids(conn, ["sessions"])["sessions"]
        rows = conn.execute(select(LabelRollup.tier, LabelRollup.bucket_start, LabelRollup.metric_id,
                                   LabelRollup.label, LabelRollup.max_values, LabelRollup.last_values)
                            .order_by(LabelRollup.tier, LabelRollup.bucket_start)).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [  # tiers in code order: hour, then day
        ("hour", H0, sessions, "user", 9, 6),
        ("hour", H0 + timedelta(hours=1), sessions, "user", 3, 3),
        ("day", H0, sessions, "user", 9, 3),
    ]
    compact(store, H0 + timedelta(days=3), replace(KEEP, hour=timedelta(days=1)), monotonic=CLOCK.monotonic)
    with engine.connect() as conn:
        kept = conn.execute(select(LabelRollup.tier)).scalars().all()
    assert kept == ["day"], "past the hourly retention its hours go, like every kind's"
    _TestBase.metadata.drop_all(engine)

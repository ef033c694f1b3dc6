"""Alembic owns every table: upgrade from empty on both backends, models and migrations agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import bindparam, inspect, text

from auditor.core.errors import SchemaNotAtHead
from auditor.store import Store, make_engine, require_head, upgrade
from auditor.store.migrate import alembic_config, current_revision, head_revision
from auditor.store.models import Base, MetricRollup, UTCDateTime
from tests.support.builders import CLOCK, census, save_census


def test_upgrade_from_empty_creates_every_model_table(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    before, after = upgrade(engine)
    assert (before, after) == (None, head_revision())
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    assert upgrade(engine) == (after, after), "a second upgrade is a no-op"
    engine.dispose()


def test_models_and_migrations_agree(database_url: str) -> None:
    """`alembic check`: autogenerate finds nothing to add after `upgrade head`."""
    engine = make_engine(database_url)
    upgrade(engine)
    config = alembic_config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.check(config)
    engine.dispose()


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert not set(Base.metadata.tables) & set(inspect(engine).get_table_names())
    upgrade(engine)
    require_head(engine)
    engine.dispose()


def test_require_head_names_the_fix(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(SchemaNotAtHead, match=r"is empty \(no schema\).*run `metrics-auditor db upgrade`"):
        require_head(engine)
    engine.dispose()


def test_upgrade_keeps_the_data_of_earlier_revisions(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, url, created_at) VALUES (1, 'old', 'u', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO snapshots (id, source_id, collected_at, status, duration_seconds, tsdb_truncated,"
                " metric_count, stale_names) VALUES (1, 1, '2026-01-01', 'ok', 0.5, false, 0, 0)"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, drilldown_metrics, drilldown_skipped FROM snapshots")).one()
    assert tuple(row) == ("ok", 0, 0)
    engine.dispose()


def test_rollups_move_into_the_compact_layout_and_back(database_url: str) -> None:
    """0006 stores tier and notion as codes: the rows keep their meaning across upgrade and downgrade."""
    engine = make_engine(database_url)
    config = alembic_config(engine)

    def migrate(step: str, revision: str) -> None:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            getattr(command, step)(config, revision)

    migrate("upgrade", "0005")
    hour = datetime(2026, 1, 1, 10, tzinfo=UTC)
    rows = [("hour", "head", hour, 7), ("day", "active", hour.replace(hour=0), 9)]
    insert = text("INSERT INTO metric_rollups VALUES (1, :tier, :notion, :bucket, 1, :v, :v, :v)")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, url, created_at) VALUES (1, 'old', 'u', '2026-01-01')"))
        conn.execute(text("INSERT INTO metric_names (id, name) VALUES (1, 'm')"))
        for tier, notion, bucket, value in rows:
            conn.execute(
                insert.bindparams(bindparam("bucket", type_=UTCDateTime())),
                {"tier": tier, "notion": notion, "bucket": bucket, "v": value},
            )
    migrate("upgrade", "head")
    store = Store(engine)
    assert store.rollup_values("old", "head", "hour", hour, MetricRollup.max_series) == {"m": 7}
    assert store.rollup_values("old", "active", "day", hour.replace(hour=0), MetricRollup.last_series) == {"m": 9}
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT tier, notion FROM metric_rollups")).all()) == [(1, 1), (2, 2)]
    migrate("downgrade", "0005")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT tier, notion, max_series FROM metric_rollups ORDER BY tier")).all()
    assert [tuple(r) for r in stored] == [("day", "active", 9), ("hour", "head", 7)]
    engine.dispose()


def test_downgrading_change_only_rows_makes_every_cycle_whole(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine)
    cycles = [{"a": 1, "b": 2}, {"a": 1, "b": 3}, {"a": 1}, {"a": 4, "b": 3}]
    hour = datetime(2026, 1, 1, 10, tzinfo=UTC)
    for i, metrics in enumerate(cycles):
        save_census(store, census(metrics, hour + timedelta(minutes=5 * i)), "u", 0.1)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")
    query = text(
        "SELECT s.collected_at, n.name, m.series FROM metric_series m JOIN snapshots s ON s.id = m.snapshot_id"
        " JOIN metric_names n ON n.id = m.metric_id ORDER BY s.collected_at, n.name"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    whole: list[dict[str, int]] = [{} for _ in cycles]
    for i, at in enumerate(sorted({r[0] for r in rows})):
        whole[i] = {name: series for when, name, series in rows if when == at}
    assert whole == cycles
    engine.dispose()


def test_downgrading_row_notions_leaves_a_schema_the_older_auditor_reads(database_url: str) -> None:
    """0008: mixed cycles fall back to head, VictoriaMetrics' day rollups go, and older downgrades still work."""
    from dataclasses import replace

    from auditor.core.domain import CensusMethod, SeriesNotion
    from auditor.store.compaction import Retention, compact

    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine)
    hour = datetime(2026, 1, 1, 10, tzinfo=UTC)
    mixed = replace(
        census({"big": 100, "tail": 5}, hour),
        method=CensusMethod.TSDB_STATUS_AND_COUNT,
        notion=SeriesNotion.MIXED,
        head_metrics=frozenset({"big"}),
    )
    save_census(store, mixed, "u", 0.1)
    day = replace(census({"vm_metric": 7}, hour, source="vm"), notion=SeriesNotion.DAY)
    save_census(store, day, "u", 0.1)
    compact(
        store,
        hour + timedelta(hours=3),
        Retention(timedelta(days=1), timedelta(days=14), timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )
    assert store.rollup_values("vm", "day", "hour", hour, MetricRollup.max_series) == {"vm_metric": 7}
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0007")
    with engine.connect() as conn:
        assert sorted(conn.execute(text("SELECT DISTINCT notion FROM snapshots")).scalars()) == ["head"]
        assert "notion" not in {c["name"] for c in inspect(conn).get_columns("metric_series")}
        assert sorted(conn.execute(text("SELECT DISTINCT notion FROM metric_rollups")).scalars()) == [1, 2]
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")  # 0006's downgrade knows only the codes of head and active
    with engine.connect() as conn:
        notions = sorted(conn.execute(text("SELECT DISTINCT notion FROM metric_rollups")).scalars())
    assert notions == ["active", "head"]
    engine.dispose()


def test_the_fast_schema_check_names_alembics_head() -> None:
    """``require_head`` reads the migration files without Alembic: its head must be Alembic's."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from auditor.store.migrate import alembic_config, head_revision

    engine = create_engine("sqlite://")
    assert head_revision() == ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head_revision() is not None

"""Rollups and retention on SQLite and PostgreSQL: correct figures, resumable, raw rows pruned only once rolled up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from auditor.store import Store, make_engine
from auditor.store.compaction import DAY, HOUR, Retention, compact
from auditor.store.models import MetricName, MetricRollup, MetricSeries, Snapshot
from tests.support.builders import CLOCK, census, save_census

H0 = datetime(2026, 11, 20, tzinfo=UTC)
KEEP_ALL = Retention(raw=timedelta(days=30), hour=timedelta(days=30), day=timedelta(days=400))


def rollups(engine: Engine, tier: str) -> dict[tuple[datetime, str], tuple[int, int, int]]:
    query = (
        select(
            MetricRollup.bucket_start,
            MetricName.name,
            MetricRollup.max_series,
            MetricRollup.min_series,
            MetricRollup.last_series,
        )
        .join(MetricName, MetricName.id == MetricRollup.metric_id)
        .where(MetricRollup.tier == tier)
    )
    with engine.connect() as conn:
        return {(at, name): (high, low, last) for at, name, high, low, last in conn.execute(query)}


def fill(store: Store) -> None:
    for minutes, values in [(5, {"a": 10, "b": 1}), (30, {"a": 30, "b": 1}), (55, {"a": 20}), (70, {"a": 5}),
                            (180, {"a": 50})]:  # fmt: skip
        save_census(store, census(values, H0 + timedelta(minutes=minutes)), "u", 0.1)


def test_hours_roll_up_max_min_last_and_resume(engine: Engine) -> None:
    store = Store(engine)
    fill(store)
    assert (
        compact(store, H0 + timedelta(hours=3, minutes=30), KEEP_ALL, budget_seconds=0, monotonic=CLOCK.monotonic).hours
        == 0
    )
    result = compact(store, H0 + timedelta(hours=3, minutes=30), KEEP_ALL, monotonic=CLOCK.monotonic)
    assert result.hours == 3, "hours 0, 1 and 2 are closed; hour 3 is still open"
    assert rollups(engine, HOUR) == {
        (H0, "a"): (30, 10, 20),
        (H0, "b"): (1, 1, 1),
        (H0 + timedelta(hours=1), "a"): (5, 5, 5),
    }
    assert compact(store, H0 + timedelta(hours=3, minutes=30), KEEP_ALL, monotonic=CLOCK.monotonic).hours == 0, (
        "nothing rolled twice"
    )
    assert compact(store, H0 + timedelta(hours=4, minutes=10), KEEP_ALL, monotonic=CLOCK.monotonic).hours == 1
    assert rollups(engine, HOUR)[(H0 + timedelta(hours=3), "a")] == (50, 50, 50)


def test_days_roll_up_from_hours(engine: Engine) -> None:
    store = Store(engine)
    fill(store)
    result = compact(store, H0 + timedelta(days=1, minutes=10), KEEP_ALL, monotonic=CLOCK.monotonic)
    assert (result.hours, result.days) == (24, 1)
    assert rollups(engine, DAY) == {(H0, "a"): (50, 5, 50), (H0, "b"): (1, 1, 1)}


def test_raw_rows_are_pruned_after_their_hour_is_rolled_up(engine: Engine) -> None:
    store = Store(engine)
    fill(store)
    retention = Retention(raw=timedelta(hours=1), hour=timedelta(days=30), day=timedelta(days=400))
    result = compact(store, H0 + timedelta(hours=3, minutes=30), retention, monotonic=CLOCK.monotonic)
    assert result.raw_snapshots_pruned == 4
    with engine.connect() as conn:
        kept = conn.execute(select(Snapshot.collected_at, Snapshot.raw_pruned).order_by(Snapshot.collected_at)).all()
        rows = conn.execute(select(func.count()).select_from(MetricSeries)).scalar_one()
    assert [pruned for _, pruned in kept] == [True, True, True, True, False], "cycle rows stay, their metric rows go"
    assert rows == 1
    assert rollups(engine, HOUR)[(H0, "a")] == (30, 10, 20), "the figures live on in the rollups"


def test_rollups_past_their_retention_go(engine: Engine) -> None:
    store = Store(engine)
    fill(store)
    compact(store, H0 + timedelta(days=1, minutes=10), KEEP_ALL, monotonic=CLOCK.monotonic)
    short = Retention(raw=timedelta(days=30), hour=timedelta(hours=12), day=timedelta(days=400))
    result = compact(store, H0 + timedelta(days=1, minutes=20), short, monotonic=CLOCK.monotonic)
    assert result.rollups_pruned == 4, "hours 0 (a, b), 1 and 3"
    assert rollups(engine, HOUR) == {}
    assert set(rollups(engine, DAY)) == {(H0, "a"), (H0, "b")}


def test_readers_fall_back_to_rollups_once_raw_rows_are_pruned(engine: Engine) -> None:
    from auditor.store.hourly import HourlyMaxima

    store = Store(engine)
    fill(store)
    retention = Retention(raw=timedelta(hours=1), hour=timedelta(days=30), day=timedelta(days=400))
    compact(store, H0 + timedelta(hours=3, minutes=30), retention, monotonic=CLOCK.monotonic)
    points = store.history("prod", "a", H0 - timedelta(hours=1))
    assert [(p.collected_at - H0, p.series, p.resolution) for p in points] == [
        (timedelta(0), 30, "hour"),
        (timedelta(hours=1), 5, "hour"),
        (timedelta(hours=3), 50, "cycle"),
    ]
    assert HourlyMaxima(store).hour("prod", "active", H0) == {"a": 30, "b": 1}
    first = store.census_in("prod", H0, H0 + timedelta(hours=4), earliest=True)
    assert first is not None
    assert first[1].metrics == {"a": 20, "b": 1}, "a pruned cycle is read back as its hour's last values"
    trend = store.hourly_max("prod", "active", ["a"], H0)
    assert [v for _, v in trend["a"]] == [30.0, 5.0, 50.0]


def test_the_daemon_job_compacts_and_never_raises(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:

    from auditor.app.jobs import safe_compaction
    from auditor.app.wiring import build_auditor
    from auditor.config.settings import Settings

    store = Store(engine)
    old = datetime.now(UTC) - timedelta(days=3)
    save_census(store, census({"a": 7}, old), "u", 0.1)
    caplog.set_level("INFO")
    with build_auditor(Settings(source="prod"), engine=engine) as auditor:  # type: ignore[call-arg]
        assert safe_compaction(auditor) is True  # compaction asks Prometheus nothing
    assert [p.resolution for p in store.history("prod", "a", old - timedelta(hours=1))] == ["hour"]
    assert any("compaction:" in r.getMessage() for r in caplog.records)
    engine.dispose()
    store.engine = make_engine("sqlite:///" + str(tmp_path / "missing" / "x.db"))
    with build_auditor(Settings(source="prod"), engine=store.engine, check_schema=False) as broken:  # type: ignore[call-arg]
        assert safe_compaction(broken) is False  # counted by the daemon: MetricsAuditorBackgroundJobFailing
    assert any("compaction failed" in r.getMessage() for r in caplog.records)


def test_raw_retention_prunes_whole_hours_so_every_kept_cycle_reads_back(engine: Engine) -> None:
    """A cycle stored as changes needs its hour's keyframe: a retention boundary inside that hour keeps it."""
    store = Store(engine)
    save_census(store, census({"a": 1}, H0 + timedelta(minutes=5)), "u", 0.1)
    save_census(store, census({"a": 7}, H0 + timedelta(hours=1, minutes=5)), "u", 0.1)  # keyframe of hour 1
    delta = save_census(store, census({"a": 7}, H0 + timedelta(hours=1, minutes=20)), "u", 0.1)  # no rows
    retention = Retention(raw=timedelta(hours=1), hour=timedelta(days=30), day=timedelta(days=400))

    result = compact(
        store, H0 + timedelta(hours=2, minutes=10), retention, monotonic=CLOCK.monotonic
    )  # raw boundary: hour 1 + 10 min

    assert result.raw_snapshots_pruned == 1  # the cycle of hour 0 only
    assert store.metric_counts(delta) == {"a": 7}

"""The store on SQLite and PostgreSQL alike (databases built by ``alembic upgrade head``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from auditor.core.cycle import CycleRecord, Standby, Stored, Writer
from auditor.core.domain import Census, CensusMethod, LabelStats, SeriesNotion
from auditor.core.errors import StoreError
from auditor.core.findings import Finding, SeriesFinding, Severity
from auditor.store import Store
from auditor.store.hourly import HourlyMaxima, hour_start
from auditor.store.models import LabelStat, MetricName, MetricRollup, MetricSeries, Snapshot, Source, StoredFinding
from tests.support.builders import CLOCK, T0, census, save_census


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_census_round_trip(engine: Engine) -> None:
    store = Store(engine)
    snapshot_id = save_census(store, census({"a": 10, "b": 3}), url="http://p:9090", duration_seconds=0.2)
    assert store.metric_counts(snapshot_id) == {"a": 10, "b": 3}
    assert store.label_stats(snapshot_id) == {"labelValueCountByLabelName": {"__name__": 2, "user_id": 9}}
    [summary] = store.snapshots("prod")
    assert summary.collected_at == T0
    assert summary.collected_at.tzinfo is not None
    assert (summary.status, summary.method, summary.head_series, summary.metric_count) == ("ok", "count_by_name", 18, 2)
    assert store.sources() == ["prod"]
    assert store.last_success("prod") == T0


def test_metric_names_are_stored_once(engine: Engine) -> None:
    store = Store(engine)
    for i in range(3):
        save_census(store, census({"a": i + 1, "b": 2}, T0 + timedelta(minutes=5 * i)), "u", 0.1)
    save_census(Store(engine), census({"a": 9, "c": 1}, T0 + timedelta(minutes=20)), "u", 0.1)
    assert count(engine, MetricName) == 3
    assert count(engine, MetricSeries) == 6  # a keyframe of 2, then only "a" changes twice; a new store's keyframe of 2
    assert count(engine, Snapshot) == 4
    assert count(engine, Source) == 1


def test_history_oldest_first_with_zero_after_a_metric_vanished(engine: Engine) -> None:
    store = Store(engine)
    save_census(store, census({"other": 1}, T0), "u", 0.1)
    save_census(store, census({"a": 5, "other": 1}, T0 + timedelta(minutes=5)), "u", 0.1)
    save_census(store, census({"a": 8, "other": 1}, T0 + timedelta(minutes=10)), "u", 0.1)
    save_census(store, census({"other": 1}, T0 + timedelta(minutes=15)), "u", 0.1)
    save_census(store, census({"a": 99}, T0, source="elsewhere"), "u", 0.1)
    points = store.history("prod", "a", since=T0 - timedelta(days=1))
    assert [(p.collected_at - T0, p.series) for p in points] == [
        (timedelta(minutes=5), 5),
        (timedelta(minutes=10), 8),
        (timedelta(minutes=15), 0),
    ]
    assert [p.series for p in store.history("prod", "a", since=T0 + timedelta(minutes=8))] == [8, 0]
    assert store.history("prod", "never", since=T0 - timedelta(days=1)) == []


def test_failed_cycles_are_recorded_without_counts(engine: Engine) -> None:
    store = Store(engine)
    save_census(store, census({"a": 1}), "u", 0.1)
    store.save_failure("prod", "u", T0 + timedelta(minutes=5), reason="timeout", message="slow", duration=30.0)
    newest, _oldest = store.snapshots("prod")
    assert newest.status == "failed"
    assert newest.metric_count == 0
    assert [p.series for p in store.history("prod", "a", T0)] == [1]
    assert store.last_success("prod") == T0


def test_a_failing_write_leaves_no_partial_snapshot(engine: Engine) -> None:
    store = Store(engine)
    save_census(store, census({"a": 1}), "u", 0.1)

    def fail_on_label_stats(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "INSERT INTO label_stats" in statement:
            raise RuntimeError("disk full")

    event.listen(engine, "before_cursor_execute", fail_on_label_stats)
    with pytest.raises((StoreError, RuntimeError)):
        save_census(store, census({"a": 2, "new_metric": 5}, T0 + timedelta(minutes=5)), "u", 0.1)
    event.remove(engine, "before_cursor_execute", fail_on_label_stats)
    assert count(engine, Snapshot) == 1
    assert count(engine, MetricSeries) == 1
    assert count(engine, MetricName) == 1, "names inserted by the failed cycle are rolled back too"
    assert count(engine, LabelStat) == 2
    save_census(store, census({"a": 3, "new_metric": 6}, T0 + timedelta(minutes=10)), "u", 0.1)
    assert [p.series for p in store.history("prod", "new_metric", T0)] == [6]


def test_database_errors_are_store_errors_and_a_naive_datetime_is_a_bug(engine: Engine) -> None:
    store = Store(engine)
    with pytest.raises(StoreError, match="saving a snapshot"):
        save_census(store, census({"a": 2**64}), "u", 0.1)  # beyond the 64-bit column: refused by the database
    with pytest.raises(TypeError, match="naive datetime"):  # the caller's mistake: an internal error, exit 70
        save_census(store, census({"a": 1}, at=datetime(2026, 1, 1)), "u", 0.1)


def test_unreachable_database_is_database_unavailable() -> None:
    from auditor.core.errors import DatabaseUnavailable
    from auditor.demo.prometheus import free_port
    from auditor.store import make_engine

    store = Store(make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x", connect_timeout_seconds=2))
    with pytest.raises(DatabaseUnavailable, match="database unavailable while checking the connection"):
        store.ping()


def test_a_census_the_database_rejects_is_not_stored_at_all(engine: Engine) -> None:
    store = Store(engine)
    save_census(store, census({"a": 1}), "u", 0.1)
    with pytest.raises(StoreError):
        save_census(store, census({"a": 2, "huge": 2**63}, T0 + timedelta(minutes=5)), "u", 0.1)
    assert count(engine, Snapshot) == 1
    assert count(engine, MetricSeries) == 1
    assert count(engine, MetricName) == 1


def test_a_save_under_another_auditors_lease_is_standby_and_writes_nothing(engine: Engine) -> None:
    store = Store(engine)
    first, second = Writer("auditor-a", timedelta(minutes=15)), Writer("auditor-b", timedelta(minutes=15))
    held = store.save(CycleRecord(census({"a": 1}, T0), "u", 0.1, writer=first))
    assert isinstance(held, Stored)
    saved = store.save(CycleRecord(census({"a": 2}, T0 + timedelta(minutes=5)), "u", 0.1, writer=second))
    assert isinstance(saved, Standby)
    assert "auditor-a" in saved.holder
    assert count(engine, Snapshot) == 1, "nothing of the standby's cycle is written"
    store.release("prod", first)
    assert isinstance(
        store.save(CycleRecord(census({"a": 3}, T0 + timedelta(minutes=10)), "u", 0.1, writer=second)), Stored
    )


def finding(metric: str, severity: str = "exceeded", series: int = 500, kind: str = "series") -> Finding:
    assert kind == "series"
    return SeriesFinding(metric=metric, owner="team", severity=Severity(severity), series_now=series, budget=400)


def test_findings_open_continue_and_resolve(engine: Engine) -> None:
    store = Store(engine)
    t = [T0 + timedelta(hours=h) for h in range(4)]
    save_census(store, census({"a": 500, "b": 450}, t[0]), "u", 0.1, findings=[finding("a"), finding("b")])
    save_census(store, census({"a": 600, "b": 10}, t[1]), "u", 0.1, findings=[finding("a", series=600)])
    save_census(store, census({"a": 350}, t[2]), "u", 0.1, findings=[finding("a", "warning", 350)])
    [warning] = store.open_findings("prod")
    assert (warning.metric, warning.severity, warning.first_seen) == ("a", "warning", t[2])
    with engine.connect() as conn:
        rows = conn.execute(select(StoredFinding.severity, StoredFinding.first_seen, StoredFinding.last_seen,
                                   StoredFinding.resolved_at, StoredFinding.series)).all()  # fmt: skip
    by_first = sorted(rows, key=lambda r: (r.first_seen, r.severity, -r.last_seen.timestamp()))
    assert [(r.severity, r.first_seen, r.last_seen, r.resolved_at) for r in by_first] == [
        ("exceeded", t[0], t[1], t[2]),  # a: exceeded from t0, seen again at t1, became a warning at t2
        ("exceeded", t[0], t[0], t[1]),  # b: resolved at t1
        ("warning", t[2], t[2], None),
    ]
    save_census(store, census({"a": 1}, t[3]), "u", 0.1)
    assert len(store.open_findings("prod")) == 1, "findings=None leaves findings untouched"
    save_census(store, census({"a": 1}, t[3] + timedelta(minutes=5)), "u", 0.1, findings=[])
    assert store.open_findings("prod") == []


def test_drilldown_round_trip_and_counters(engine: Engine) -> None:
    store = Store(engine)
    drill = {"a": {"user_id": LabelStats(120, 3), "pod": LabelStats(2)}}
    snapshot_id = save_census(store, census({"a": 360}), "u", 0.1, drilldown=drill, drilldown_skipped=4)
    assert store.drilldown(snapshot_id) == drill
    with engine.connect() as conn:
        counters = conn.execute(select(Snapshot.drilldown_metrics, Snapshot.drilldown_skipped)).one()
    assert tuple(counters) == (1, 4)


def test_window_max_and_hourly_max_compare_like_with_like(engine: Engine) -> None:
    store = Store(engine)
    for minutes, value in [(0, 10), (20, 30), (50, 20), (70, 40), (130, 5)]:
        save_census(store, census({"a": value}, T0 + timedelta(minutes=minutes)), "u", 0.1)
    head = replace(census({"a": 999}, T0 + timedelta(minutes=30)), notion=SeriesNotion.HEAD)
    save_census(store, head, "u", 0.1)
    assert store.window_max("prod", "active", T0, T0 + timedelta(minutes=60)) == {"a": 30}
    assert store.window_max("prod", "head", T0, T0 + timedelta(minutes=60)) == {"a": 999}
    hourly = store.hourly_max("prod", "active", ["a", "missing"], T0)
    hour = T0.timestamp() // 3600 * 3600
    assert hourly == {"a": [(hour, 30.0), (hour + 3600, 40.0), (hour + 7200, 5.0)]}


def test_latest_census_rebuilds_the_newest_snapshot(engine: Engine) -> None:
    store = Store(engine)
    assert store.latest_census("prod") is None
    save_census(store, census({"a": 1}), "u", 0.1)
    save_census(store, census({"a": 2, "b": 3}, T0 + timedelta(minutes=5)), "u", 0.1)
    store.save_failure("prod", "u", T0 + timedelta(minutes=10), reason="timeout", message="x", duration=1.0)
    snapshot_id, latest = store.latest_census("prod")  # type: ignore[misc]
    assert latest.metrics == {"a": 2, "b": 3}
    assert latest.collected_at == T0 + timedelta(minutes=5)
    assert latest.notion is SeriesNotion.ACTIVE
    assert latest.label_stats == {"labelValueCountByLabelName": {"__name__": 2, "user_id": 9}}
    assert store.metric_counts(snapshot_id) == latest.metrics


def test_hourly_maxima_read_each_past_hour_once(engine: Engine) -> None:
    store = Store(engine)
    hour = hour_start(T0)
    for minutes, value in [(5, 10), (25, 40), (65, 7)]:
        save_census(store, census({"a": value}, hour + timedelta(minutes=minutes)), "u", 0.1)
    queries: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    maxima = HourlyMaxima(store)
    assert maxima.hour("prod", "active", hour) == {"a": 40}
    first_read = len(queries)
    assert maxima.hour("prod", "active", hour) == {"a": 40}
    assert len(queries) == first_read, "a past hour is read once"
    now = census({"a": 9, "b": 1}, hour + timedelta(minutes=70))
    assert maxima.current(now) == {"a": 9, "b": 1}
    assert maxima.current(census({"a": 3}, hour + timedelta(minutes=75))) == {"a": 9, "b": 1}
    assert len(queries) == first_read + 1, "the current hour is read once, then kept up to date in memory"


def test_only_changes_are_stored_and_every_cycle_reads_back_whole(engine: Engine) -> None:
    store = Store(engine)
    cycles = [{"a": 1, "b": 2}, {"a": 1, "b": 3}, {"a": 1}, {"a": 1, "b": 4}, {"a": 5, "b": 4}]
    ids = [save_census(store, census(m, T0 + timedelta(minutes=5 * i)), "u", 0.1) for i, m in enumerate(cycles)]

    assert count(engine, MetricSeries) == 2 + 1 + 1 + 1 + 1  # keyframe, b, b gone (0), b back, a
    assert [store.metric_counts(i) for i in ids] == cycles
    since = T0 - timedelta(hours=1)
    assert [p.series for p in store.history("prod", "b", since)] == [2, 3, 0, 4, 4]
    assert [p.series for p in store.history("prod", "a", since)] == [1, 1, 1, 1, 5]
    assert store.window_max("prod", "active", T0, T0 + timedelta(minutes=59)) == {"a": 5, "b": 4}


def test_a_keyframe_starts_each_hour_and_every_twelfth_cycle(engine: Engine) -> None:
    store = Store(engine)
    at = [T0 + timedelta(minutes=50 + 1 * i) for i in range(9)] + [
        T0 + timedelta(hours=1, minutes=i) for i in range(14)
    ]
    for moment in at:
        save_census(store, census({"a": 1, "b": 2}, moment), "u", 0.1)
    with engine.connect() as conn:
        rows = conn.execute(select(Snapshot.collected_at, Snapshot.base_id).order_by(Snapshot.collected_at)).all()
    keyframes = [when.replace(tzinfo=UTC) for when, base in rows if base is None]
    assert keyframes == [T0 + timedelta(minutes=50), T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=12)]
    assert count(engine, MetricSeries) == 3 * 2  # nothing changed: the keyframes only
    assert all(store.metric_counts(s.id) == {"a": 1, "b": 2} for s in store.snapshots("prod"))


def mixed(metrics: dict[str, int], head: set[str], at: datetime) -> Census:
    return replace(
        census(metrics, at),
        method=CensusMethod.TSDB_STATUS_AND_COUNT,
        notion=SeriesNotion.MIXED,
        head_metrics=frozenset(head),
        prometheus_version="2.53.3",
    )


def test_a_mixed_census_keeps_the_notion_of_each_count_and_compares_like_with_like(engine: Engine) -> None:
    """``big`` is a head count while it is on the TSDB status list, an active count once it drops off it."""
    from auditor.store.compaction import Retention, compact

    store = Store(engine)
    hour = hour_start(T0)
    save_census(store, mixed({"big": 100, "tail": 5}, {"big"}, hour + timedelta(minutes=5)), "u", 0.1)
    save_census(store, mixed({"big": 100, "tail": 5}, set(), hour + timedelta(minutes=10)), "u", 0.1)
    save_census(store, mixed({"big": 60, "tail": 7}, set(), hour + timedelta(minutes=15)), "u", 0.1)
    maxima = HourlyMaxima(store)
    assert maxima.hour("prod", "head", hour) == {"big": 100}
    assert maxima.hour("prod", "active", hour) == {"big": 100, "tail": 7}, "the flip alone is stored as a change"
    now_head = mixed({"big": 120, "tail": 6}, {"big"}, hour + timedelta(hours=1, minutes=5))
    now_active = mixed({"big": 50, "tail": 6}, set(), hour + timedelta(hours=1, minutes=5))
    assert HourlyMaxima(store).hour_of(now_head, hour) == {"big": 100, "tail": 7}
    assert HourlyMaxima(store).hour_of(now_active, hour) == {"big": 100, "tail": 7}
    _, newest = store.latest_census("prod") or (0, None)
    assert newest is not None
    assert (newest.metrics, newest.head_metrics) == ({"big": 60, "tail": 7}, frozenset())

    compact(
        store,
        hour + timedelta(hours=3),
        Retention(timedelta(hours=1), timedelta(days=14), timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )
    assert store.rollup_values("prod", "head", "hour", hour, MetricRollup.max_series) == {"big": 100}
    assert store.rollup_values("prod", "active", "hour", hour, MetricRollup.max_series) == {"big": 100, "tail": 7}
    assert store.rollup_values("prod", "active", "hour", hour, MetricRollup.min_series) == {"big": 60, "tail": 5}
    trends = store.trends(now_head, ["big", "tail"], hour)
    assert trends == {"big": [(hour.timestamp(), 100.0)], "tail": [(hour.timestamp(), 7.0)]}

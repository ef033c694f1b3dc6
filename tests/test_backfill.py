"""Backfilled history reads like history the daemon wrote: cycle records, rollups, and compaction resumes after them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, func, select

from auditor.store import Store, backfill
from auditor.store.compaction import DAY, HOUR, Retention, compact
from auditor.store.models import MetricSeries, Snapshot
from tests.support.builders import CLOCK, census
from tests.test_compaction import H0, rollups

KEEP = Retention(raw=timedelta(days=30), hour=timedelta(days=30), day=timedelta(days=400))


def test_backfilled_cycles_and_rollups_are_read_back(engine: Engine) -> None:
    store = Store(engine)
    template = census({"a": 10, "b": 2})
    cycles = (replace(template, collected_at=H0 + timedelta(minutes=5 * i)) for i in range(24))
    assert backfill.cycle_records(store, "prod", "u", cycles) == 24
    hours = [(H0, {"a": (12, 10, 11), "b": (2, 2, 2)}), (H0 + timedelta(hours=1), {"a": (15, 11, 15)})]
    assert backfill.rollups(store, "prod", HOUR, "active", hours) == 3

    with engine.connect() as conn:
        records = conn.execute(select(func.count(), func.min(Snapshot.metric_count)).where(Snapshot.raw_pruned)).one()
        assert tuple(records) == (24, 2)
        assert conn.execute(select(func.count()).select_from(MetricSeries)).scalar_one() == 0
    assert rollups(engine, HOUR)[(H0 + timedelta(hours=1), "a")] == (15, 11, 15)
    assert [(p.series, p.resolution) for p in store.history("prod", "a", H0 - timedelta(hours=1))] == [
        (12, "hour"),
        (15, "hour"),
    ]
    result = compact(store, H0 + timedelta(days=1, hours=1), KEEP, monotonic=CLOCK.monotonic)
    assert (result.hours, result.days) == (22, 1)  # resumes after the backfilled hours; rolls their day
    assert rollups(engine, HOUR)[(H0, "a")] == (12, 10, 11)
    assert rollups(engine, DAY)[(H0, "a")] == (15, 10, 15)

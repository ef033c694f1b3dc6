"""The job census' history on SQLite and PostgreSQL: change-only rows, rollups, retention, trends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, func, select, text

from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.store import Store, make_engine
from auditor.store.compaction import Retention, compact
from auditor.store.migrate import alembic_config, upgrade
from auditor.store.models import JobRollup, JobSeries, TargetSeries
from tests.support.builders import CLOCK, census, save_census

H0 = datetime(2026, 11, 20, tzinfo=UTC)
KEEP_ALL = Retention(raw=timedelta(days=30), hour=timedelta(days=30), day=timedelta(days=400))
LIMITS = {"sample_limit": 100}


def job(
    name: str, series: int, targets: dict[str, int], added: int = 0, limits: dict[str, int] | None = None
) -> JobStats:
    ranked = sorted(targets.items(), key=lambda kv: (-kv[1], kv[0]))
    return JobStats(name, series, len(targets), added, tuple(TargetStats(i, n, 0) for i, n in ranked), limits)


def jobs(*stats: JobStats, truncated: int = 0) -> JobCensus:
    return JobCensus({s.job: s for s in stats}, truncated)


def save(store: Store, at: datetime, job_census: JobCensus | None) -> int:
    return save_census(store, census({"m": 1}, at), "u", 0.1, jobs=job_census)


def rows_of(engine: Engine, snapshot_id: int) -> tuple[int, int]:
    with engine.connect() as conn:
        n_jobs = conn.execute(select(func.count()).where(JobSeries.snapshot_id == snapshot_id)).scalar_one()
        n_targets = conn.execute(select(func.count()).where(TargetSeries.snapshot_id == snapshot_id)).scalar_one()
    return n_jobs, n_targets


def same(a: JobCensus, b: JobCensus) -> bool:
    return a.jobs == b.jobs and a.truncated == b.truncated


CYCLES = [
    jobs(job("api", 30, {"a:1": 20, "a:2": 10}, 3, LIMITS), job("db", 5, {"d:1": 5}, 0, LIMITS), truncated=2),
    jobs(job("api", 31, {"a:1": 21, "a:2": 10}, 1, LIMITS), job("db", 5, {"d:1": 5}, 0, LIMITS), truncated=2),
    jobs(job("api", 21, {"a:1": 21}, 0, LIMITS), truncated=0),
    jobs(job("api", 21, {"a:1": 21}, 0, LIMITS), job("new", 7, {"n:1": 7}, 7, None), truncated=0),
]


def test_a_cycle_stores_only_the_jobs_and_targets_that_changed_and_reads_back_whole(engine: Engine) -> None:
    store = Store(engine)
    ids = [save(store, H0 + timedelta(minutes=i), c) for i, c in enumerate(CYCLES)]
    assert rows_of(engine, ids[0]) == (2, 3), "the first cycle of the hour is a keyframe"
    assert rows_of(engine, ids[1]) == (1, 1), "api and its first target changed; db did not"
    assert rows_of(engine, ids[2]) == (2, 2), "api changed; db and two targets went (-1 rows)"
    assert rows_of(engine, ids[3]) == (1, 1), "only the new job and its target"
    for snapshot_id, saved in zip(ids, CYCLES, strict=True):
        assert same(store.jobs_of(snapshot_id), saved)
    fresh = Store(engine)  # another process reads the same chain
    assert same(fresh.jobs_of(ids[3]), CYCLES[3])
    assert fresh.jobs_of(ids[0]).truncated == 2
    assert fresh.jobs_of(ids[3]).config_known is False, "the new job's limits were unreadable"


def test_each_hour_starts_with_a_keyframe_and_a_cycle_without_jobs_breaks_nothing(engine: Engine) -> None:
    store = Store(engine)
    first = save(store, H0 + timedelta(minutes=50), CYCLES[0])
    none = save(store, H0 + timedelta(minutes=55), None)
    next_hour = save(store, H0 + timedelta(minutes=65), CYCLES[1])
    assert rows_of(engine, first) == (2, 3)
    assert rows_of(engine, none) == (0, 0)
    assert rows_of(engine, next_hour) == (2, 3), "a new clock hour: every job again"
    assert [at for at, _ in store.job_cycles("prod", 5)] == [H0 + timedelta(minutes=65), H0 + timedelta(minutes=50)]
    empty = save(store, H0 + timedelta(minutes=70), jobs())
    assert store.job_cycles("prod", 1)[0][0] == H0 + timedelta(minutes=70), "an empty census is a census"
    assert store.jobs_of(empty).jobs == {}


def test_compaction_rolls_jobs_up_and_pruned_cycles_read_back_from_rollups(engine: Engine) -> None:
    store = Store(engine)
    ids = [save(store, H0 + timedelta(minutes=10 * i), c) for i, c in enumerate(CYCLES)]
    save(store, H0 + timedelta(hours=1, minutes=5), jobs(job("api", 40, {"a:1": 40}, 2, LIMITS)))
    compact(store, H0 + timedelta(days=1, hours=2), KEEP_ALL, monotonic=CLOCK.monotonic)
    with engine.connect() as conn:
        columns = (JobRollup.tier, JobRollup.bucket_start, JobRollup.job, JobRollup.max_series,
                   JobRollup.min_series, JobRollup.last_series, JobRollup.series_added, JobRollup.targets,
                   JobRollup.max_target_series)  # fmt: skip
        rolled = {(r[0], r[1], r[2]): tuple(r[3:]) for r in conn.execute(select(*columns))}
    assert rolled == {
        ("hour", H0, "api"): (31, 21, 21, 4, 1, 21),
        ("hour", H0, "db"): (5, 5, 5, 0, 1, 5),
        ("hour", H0, "new"): (7, 7, 7, 7, 1, 7),
        ("hour", H0 + timedelta(hours=1), "api"): (40, 40, 40, 2, 1, 40),
        ("day", H0, "api"): (40, 21, 40, 6, 1, 40),
        ("day", H0, "db"): (5, 5, 5, 0, 1, 5),
        ("day", H0, "new"): (7, 7, 7, 7, 1, 7),
    }
    # Raw rows past their retention: the cycles read back from their hour's rollup (last series, no targets).
    compact(
        store,
        H0 + timedelta(days=1, hours=2),
        Retention(timedelta(hours=1), timedelta(days=30), timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )
    assert rows_of(engine, ids[1]) == (0, 0)
    pruned = store.jobs_of(ids[1])
    assert {j: (s.series, s.targets, s.series_added) for j, s in pruned.jobs.items()} == {
        "api": (21, 1, 4), "db": (5, 1, 0), "new": (7, 1, 7)
    }  # fmt: skip
    assert pruned.truncated == 2
    first = store.job_census_in("prod", H0, H0 + timedelta(days=1), earliest=True)
    assert first is not None
    assert first.jobs["api"].series == 21, "a report's first census survives raw retention"
    # Hour rollups past their retention go, the day's stay.
    compact(
        store,
        H0 + timedelta(days=3),
        Retention(timedelta(hours=1), timedelta(days=1), timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )
    with engine.connect() as conn:
        tiers = sorted(conn.execute(select(JobRollup.tier).distinct()).scalars())
    assert tiers == ["day"]
    assert store.jobs_of(ids[1]).jobs["api"].series == 40, "the day's last value once the hour is gone"


def test_hours_and_hour_max_read_rollups_then_raw_cycles(engine: Engine) -> None:
    store = Store(engine)
    for hour, (api, target) in enumerate([(10, 6), (20, 12), (30, 18), (45, 30)]):
        for minute, wobble in ((5, 0), (35, -2)):
            at = H0 + timedelta(hours=hour, minutes=minute)
            save(store, at, jobs(job("api", api + wobble, {"a:1": target + wobble, "a:2": 1}, 0, LIMITS)))
    expected = [(H0 + timedelta(hours=h), a, t) for h, (a, t) in enumerate([(10, 6), (20, 12), (30, 18), (45, 30)])]
    assert store.job_hours("prod", H0)["api"] == expected, "all raw"
    compact(store, H0 + timedelta(hours=2, minutes=10), KEEP_ALL, monotonic=CLOCK.monotonic)  # hours 0 and 1 rolled up
    assert store.job_hours("prod", H0)["api"] == expected, "rollups, then raw cycles"
    assert store.job_hours("prod", H0 + timedelta(hours=1))["api"] == expected[1:]
    assert store.job_hour_max("prod", H0 + timedelta(hours=1)) == {"api": 20}, "from the hour's rollup"
    assert store.job_hour_max("prod", H0 + timedelta(hours=3)) == {"api": 45}, "from raw cycles"
    compact(
        store,
        H0 + timedelta(days=3),
        Retention(timedelta(hours=1), timedelta(hours=1), timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )
    assert store.job_hour_max("prod", H0 + timedelta(hours=1)) == {"api": 45}, "past hourly retention: the day's max"
    assert store.job_hour_max("nowhere", H0) == {}


def test_downgrading_job_history_makes_every_job_census_whole(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine)
    for i, c in enumerate(CYCLES):
        save(store, H0 + timedelta(minutes=i), c)
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    query = text(
        "SELECT s.collected_at, j.job, j.series FROM job_series j JOIN snapshots s ON s.id = j.snapshot_id"
        " ORDER BY s.collected_at, j.job"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        targets = conn.execute(text("SELECT count(*) FROM target_series")).scalar_one()
    times = sorted({at for at, _, _ in rows})  # SQLite hands raw text back: order, not value
    by_cycle = [{j: n for at, j, n in rows if at == when} for when in times]
    assert by_cycle == [{name: s.series for name, s in c.jobs.items()} for c in CYCLES]
    assert targets == sum(len(s.largest_targets) for c in CYCLES for s in c.jobs.values())
    engine.dispose()

"""Query usage in the store on SQLite and PostgreSQL: batches add up per day, the position moves, retention."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine, func, select

from auditor.core.usage import LogPosition, MetricReads, QueryKind, QueryReads, UsageBatch
from auditor.store import Store
from auditor.store.compaction import Retention, compact
from auditor.store.models import MetricUsage
from tests.support.builders import CLOCK, census, save_census

T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


def batch(offset: int, *reads: tuple[str, QueryKind, datetime]) -> UsageBatch:
    out = UsageBatch(lines=len(reads), own=1, failures=2, position=LogPosition("/q.log", 1, 7, offset, "h" * 64))
    for metric, kind, at in reads:
        out.credit(QueryReads(frozenset({metric}), frozenset(), ""), kind, at)
    return out


def test_batches_add_up_per_day_and_the_position_moves_with_them(engine: Engine) -> None:
    store = Store(engine)
    day1, day2 = T0, T0 + timedelta(days=1)
    store.usage.record("prod", "u", batch(100, ("a", QueryKind.API, day1), ("a", QueryKind.RULE, day1)), day1)
    store.usage.record("prod", "u", batch(250, ("a", QueryKind.API, day1 + timedelta(hours=1)),
                                          ("b", QueryKind.API, day2)), day2)  # fmt: skip
    assert store.usage.daily("prod", date(2026, 11, 1)) == {
        (day1.date(), "a"): MetricReads(2, 1, day1 + timedelta(hours=1), day1),
        (day2.date(), "b"): MetricReads(1, 0, day2, None),
    }
    assert store.usage.reads("prod", day1.date()) == {
        "a": MetricReads(2, 1, day1 + timedelta(hours=1), day1), "b": MetricReads(1, 0, day2, None),
    }  # fmt: skip
    assert store.usage.reads("prod", day2.date()) == {"b": MetricReads(1, 0, day2, None)}
    assert store.usage.reads("prod", day1.date(), day1.date()) == {
        "a": MetricReads(2, 1, day1 + timedelta(hours=1), day1)
    }
    assert store.usage.last_reads("prod") == {"a": day1 + timedelta(hours=1), "b": day2}
    state = store.usage.state("prod")
    assert state is not None
    assert (state.position.offset, state.lines, state.own_lines, state.failures) == (250, 4, 2, 4)
    assert state.covered_since == day1, "the earliest query the log held when first read"
    assert state.last_entry_at == day2
    store.usage.record("prod", "u", UsageBatch(), day2)
    assert store.usage.state("prod") == state, "a read that found no file changes nothing"


def test_usage_rows_go_with_the_daily_retention(engine: Engine) -> None:
    store = Store(engine)
    save_census(store, census({"a": 1}, T0), "u", 0.1)
    old, recent = T0 - timedelta(days=50), T0 - timedelta(days=5)
    store.usage.record("prod", "u", batch(10, ("a", QueryKind.API, old), ("a", QueryKind.API, recent)), T0)
    compact(store, T0, Retention(timedelta(days=1), timedelta(days=14), timedelta(days=30)), monotonic=CLOCK.monotonic)
    with engine.connect() as conn:
        days = list(conn.execute(select(MetricUsage.day)).scalars())
        assert conn.execute(select(func.count()).select_from(MetricUsage)).scalar_one() == 1
    assert days == [recent.date()]

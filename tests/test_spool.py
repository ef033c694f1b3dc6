"""The spool: bounded, ordered, and a cycle the database refuses for good does not block the others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from auditor.app.spool import Spool
from auditor.core.cycle import CycleRecord
from auditor.core.errors import DatabaseUnavailable
from auditor.demo.prometheus import free_port
from auditor.store import Store, make_engine
from tests.support.builders import T0, census


def cycle(minute: int, series: int = 1) -> CycleRecord:
    return CycleRecord(census({"a": series}, T0 + timedelta(minutes=minute)), "u", 0.1)


def stored_minutes(store: Store) -> list[int]:
    return [int((s.collected_at - T0).total_seconds() // 60) for s in reversed(store.snapshots("prod"))]


def test_a_full_spool_drops_the_oldest_cycle(engine: Engine) -> None:
    spool = Spool(max_cycles=2)
    for minute in range(3):
        spool.add(cycle(minute))
    assert (len(spool), spool.spooled, spool.dropped) == (2, 3, 1)

    assert spool.flush(Store(engine)) == 2
    assert stored_minutes(Store(engine)) == [1, 2]
    assert (len(spool), spool.written) == (0, 2)


def test_a_cycle_refused_for_good_is_dropped_and_the_rest_written(engine: Engine) -> None:
    spool = Spool(max_cycles=10)
    spool.add(cycle(0))
    spool.add(cycle(1, series=2**64))  # beyond BIGINT: the database will never take it
    spool.add(cycle(2))

    assert spool.flush(Store(engine)) == 2
    assert stored_minutes(Store(engine)) == [0, 2]
    assert spool.dropped == 1


def test_flush_stops_while_the_database_is_away_and_keeps_the_order(engine: Engine) -> None:
    away = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone", connect_timeout_seconds=1)
    spool = Spool(max_cycles=10)
    for minute in range(3):
        spool.add(cycle(minute))

    with pytest.raises(DatabaseUnavailable):
        spool.flush(Store(away))
    assert len(spool) == 3
    assert spool.flush(Store(engine)) == 3
    assert stored_minutes(Store(engine)) == [0, 1, 2]
    away.dispose()


def test_a_zero_spool_keeps_nothing() -> None:
    spool = Spool(max_cycles=0)
    spool.add(cycle(0))
    assert (len(spool), spool.dropped) == (0, 1)

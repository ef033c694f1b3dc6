"""Database faults: PostgreSQL stopped and restarted mid-cycle (through a TCP proxy), a full disk on commit.

The cycles of the outage wait in the spool and are written, in order and complete, once the
database is back: no snapshot is lost, none is half-written.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from auditor.app.cycle import Auditor
from auditor.app.wiring import build_auditor
from auditor.config.settings import Settings
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, find_prometheus
from auditor.store import Store, make_engine, upgrade
from tests.support.builders import ground_truth, missing
from tests.support.faultproxy import HttpFaultProxy, TcpProxy, delay

pytestmark = pytest.mark.prometheus


class StepClock:
    """Minutes pass in steps; a census queries Prometheus at this time, hence the long lookback below."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()

    def step(self) -> None:
        self.at += timedelta(minutes=1)


@pytest.fixture(scope="module")
def prometheus(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrometheus]:
    """Answers instant queries up to 20 minutes ahead of its last sample, for the stepped clock."""
    if find_prometheus() is None:
        missing("the prometheus binary (Debian package prometheus)")
    prom = LocalPrometheus(
        tmp_path_factory.mktemp("prometheus"), [exporter.target], scrape_interval="1s",
        extra_args=["--query.lookback-delta=20m"],
    )  # fmt: skip
    prom.start()
    yield prom
    prom.stop()


@pytest.fixture
def db_proxy(postgres_url: str) -> Iterator[tuple[TcpProxy, str]]:
    upgrade_engine = make_engine(postgres_url)
    upgrade(upgrade_engine)
    upgrade_engine.dispose()
    url = make_url(postgres_url)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy, url.set(port=proxy.port).render_as_string(hide_password=False)
    proxy.close()


def auditor_for(prometheus_url: str, engine: Engine, clock: StepClock) -> Auditor:
    settings = Settings(prometheus_url=prometheus_url, source="db-faults")  # type: ignore[call-arg]
    return build_auditor(settings, engine=engine, clock=clock)


def assert_complete(engine: Engine, times: list[datetime], truth: dict[str, int]) -> None:
    """One snapshot per cycle, at the cycle's time, each holding the whole census."""
    store = Store(engine)
    snapshots = list(reversed(store.snapshots("db-faults")))
    assert [s.collected_at.replace(tzinfo=UTC) for s in snapshots] == times
    assert {s.status for s in snapshots} == {"ok"}
    for snapshot in snapshots:
        assert store.metric_counts(snapshot.id) == truth


def test_a_ten_minute_postgres_outage_loses_no_snapshot(
    db_proxy: tuple[TcpProxy, str], prometheus: LocalPrometheus, exporter: Exporter
) -> None:
    proxy, url = db_proxy
    parts = urlsplit(prometheus.url)
    prom_proxy = HttpFaultProxy((parts.hostname or "", parts.port or 0))
    exporter.wait_for_scrapes(2)
    clock, times = StepClock(), []
    engine = make_engine(url, connect_timeout_seconds=2)
    with auditor_for(prom_proxy.url, engine, clock) as auditor:
        auditor.run_cycle()
        times.append(clock.now())
        # Postgres goes away in the middle of the next cycle, while it waits on Prometheus.
        prom_proxy.push(delay(1.0))
        threading.Timer(0.3, proxy.down).start()
        for minute in range(10):
            clock.step()
            census = auditor.run_cycle()
            times.append(clock.now())
            assert census.metrics == ground_truth(exporter)
            assert len(auditor.spool) == minute + 1
            ready, why = auditor.readiness()
            assert not ready
            assert "database unavailable" in why
            assert auditor.stats.view().database_up is False
        proxy.up()  # restarted
        clock.step()
        auditor.run_cycle()
        times.append(clock.now())
        io = auditor.stats.view().io

    assert (io.spooled, io.spool_written, io.spool_dropped, io.spool_pending) == (10, 10, 0, 0)
    assert auditor.stats.view().database_up is True
    assert_complete(engine, times, ground_truth(exporter))
    engine.dispose()
    prom_proxy.close()


def _fill_disk(engine: Engine) -> None:
    """PostgreSQL: a deferred trigger fails the commit with SQLSTATE 53100 (disk_full).
    SQLite: the commit raises SQLITE_FULL's error (a size cap would not bite: writes reuse free pages)."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "commit", _sqlite_full)
        return
    with engine.begin() as conn:
        conn.execute(
            text("""
            CREATE FUNCTION fault_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
            CREATE CONSTRAINT TRIGGER fault_disk_full AFTER INSERT ON snapshots
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_disk_full();
        """)
        )


def _free_disk(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        event.remove(engine, "commit", _sqlite_full)
        return
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER fault_disk_full ON snapshots; DROP FUNCTION fault_disk_full();"))


def _sqlite_full(_connection: Any) -> None:
    raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))


def test_a_full_disk_on_commit_keeps_the_cycle_and_writes_it_later(
    engine: Engine, prometheus: LocalPrometheus, exporter: Exporter
) -> None:
    exporter.wait_for_scrapes(2)
    clock, times = StepClock(), []
    with auditor_for(prometheus.url, engine, clock) as auditor:
        auditor.run_cycle()
        times.append(clock.now())
        _fill_disk(engine)
        for _ in range(3):
            clock.step()
            auditor.run_cycle()
            times.append(clock.now())
        assert len(Store(engine).snapshots("db-faults")) == 1  # nothing half-written
        assert len(auditor.spool) == 3
        _free_disk(engine)
        clock.step()
        auditor.run_cycle()
        times.append(clock.now())

    assert_complete(engine, times, ground_truth(exporter))

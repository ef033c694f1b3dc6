"""The database as it really goes wrong: a password to percent-encode, a newer schema, a read-only server,
tables gone during an outage, a lock someone else holds. Each ends in the documented exit code or in the
spool, and nothing stored is lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import DatabaseSettings, Settings
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store, make_engine, upgrade
from auditor.store.models import Base


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, prometheus: LocalPrometheus, exporter: Exporter) -> pytest.MonkeyPatch:
    exporter.wait_for_scrapes(2)
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    monkeypatch.setenv("AUDITOR_SOURCE", "store")
    return monkeypatch


@pytest.mark.postgres
def test_a_password_that_needs_percent_encoding_works_for_migrations_and_is_never_printed(
    postgres_url: str, cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # trust auth takes any password: what is tested is the auditor's handling of the URL
    url = make_url(postgres_url).set(password="p@ss%w0rd").render_as_string(hide_password=False)
    assert "p%40ss%25w0rd" in url
    cli_env.setenv("AUDITOR_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    assert main(["audit", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert "upgraded from empty" in captured.out
    for shown in ("p%40ss", "p@ss", "w0rd"):
        assert shown not in captured.out + captured.err


def test_a_database_migrated_by_a_newer_version_says_so_and_db_upgrade_does_not_crash(
    database_url: str, cli_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.setenv("AUDITOR_DATABASE_URL", database_url)
    assert main(["db", "upgrade"]) == 0
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfacefeed'"))
    engine.dispose()
    capsys.readouterr()
    for argv in (["db", "upgrade"], ["check"], ["audit"]):
        assert main(argv) == 4, argv
        err = capsys.readouterr().err
        assert "is at revision f00dfacefeed, which this metrics-auditor" in err
        assert "a newer version migrated it" in err
        assert "internal error" not in err


@pytest.fixture
def readonly_database(postgres_server: str, postgres_url: str) -> Iterator[str]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    name = make_url(postgres_url).database
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        conn.commit()
    engine.dispose()
    yield postgres_url
    admin = make_engine(postgres_server)
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = off'))
        conn.commit()
    admin.dispose()


@pytest.mark.postgres
def test_audit_exits_4_when_its_cycle_is_not_stored_and_a_read_only_database_spools_like_an_outage(
    readonly_database: str, prometheus: LocalPrometheus, cli_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    cli_env.setenv("AUDITOR_DATABASE_URL", readonly_database)
    assert main(["audit"]) == 4
    captured = capsys.readouterr()
    assert "up" in captured.out, "the census is printed ..."
    assert "the census above is not stored" in captured.err, "... and said to be lost"
    assert "read-only" in captured.err
    settings = Settings(database_url=readonly_database, prometheus_url=prometheus.url, source="store")  # type: ignore[arg-type]
    with build_auditor(settings) as auditor:
        auditor.run_cycle()
        assert len(auditor.spool) == 1, "the daemon keeps it for later"


def test_cycles_spooled_while_the_database_has_lost_its_schema_are_written_once_it_is_back(
    engine: Engine, prometheus: LocalPrometheus, exporter: Exporter
) -> None:
    exporter.set("schema_metric", 3)  # names the first cycle caches, which the empty database no longer has
    exporter.wait_for_scrapes(2)
    settings = Settings(database_url="sqlite://", prometheus_url=prometheus.url, source="schema")  # type: ignore[arg-type]
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        Base.metadata.drop_all(engine)  # a restore that brought the server back empty
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE alembic_version"))
        for _ in range(2):
            auditor.run_cycle()
        assert len(auditor.spool) == 2, "kept, not dropped as refused for good"
        assert auditor.spool.dropped == 0
        assert "no such table" in auditor.storage.unstored or "no schema" in auditor.storage.unstored
        upgrade(engine)
        auditor.run_cycle()
        assert len(auditor.spool) == 0
    assert len(Store(engine).snapshots("schema")) == 3, "both spooled cycles and the new one"


@pytest.mark.postgres
def test_a_lock_held_elsewhere_fails_the_write_within_lock_timeout_and_the_cycle_is_spooled(
    postgres_url: str, prometheus: LocalPrometheus
) -> None:
    engine = make_engine(postgres_url, lock_timeout=timedelta(seconds=1))
    upgrade(engine)
    settings = Settings(  # type: ignore[call-arg]
        database_url=postgres_url, prometheus_url=prometheus.url, source="locked",
        database=DatabaseSettings(lock_timeout=timedelta(seconds=1)),
    )  # fmt: skip
    holder = make_engine(postgres_url)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.connect() as conn:
            conn.execute(text("LOCK TABLE snapshots IN ACCESS EXCLUSIVE MODE"))
            held.set()
            release.wait(60)
            conn.rollback()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(10)
    try:
        with build_auditor(settings, engine=engine) as auditor:
            started = time.monotonic()
            auditor.run_cycle()
            seconds = time.monotonic() - started
            assert len(auditor.spool) == 1
            assert "lock" in auditor.storage.unstored
            release.set()
            thread.join(10)
            auditor.run_cycle()
            assert len(auditor.spool) == 0
    finally:
        release.set()
        holder.dispose()
    assert seconds < 15, f"the cycle waited {seconds:.1f}s on a lock"
    assert len(Store(engine).snapshots("locked")) == 2
    engine.dispose()

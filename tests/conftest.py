"""Fixtures for the real parts: PostgreSQL and SQLite databases built by Alembic, a real Prometheus.

In CI (``CI=true``) a missing Prometheus or PostgreSQL fails the run; elsewhere it skips.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, find_prometheus
from auditor.store import make_engine, upgrade
from tests.support import postgres
from tests.support.builders import missing

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("AUDITOR_TEST_POSTGRES_URL", postgres.DEFAULT_URL)
    if postgres.answers(url):
        yield url
        return
    server = postgres.PrivateServer()
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        missing(f"PostgreSQL ({exc})")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def session_tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def postgres_url(postgres_server: str, session_tag: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    name = f"auditor_test_{session_tag}_{next(_counter)}"
    url = postgres.create_database(postgres_server, name)
    yield url
    postgres.drop_database(postgres_server, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'auditor.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Every storage test runs on both backends."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database migrated with ``alembic upgrade head`` (never ``create_all``)."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    exporter = Exporter()
    exporter.start()
    yield exporter
    exporter.stop()


@pytest.fixture(scope="module")
def prometheus(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrometheus]:
    """A real Prometheus (Debian 2.42) scraping ``exporter`` every second; stopped by pid."""
    if find_prometheus() is None:
        missing("the prometheus binary (Debian package prometheus)")
    prom = LocalPrometheus(tmp_path_factory.mktemp("prometheus"), [exporter.target], scrape_interval="1s")
    prom.start()
    yield prom
    prom.stop()


pytest_plugins = ["tests.support.fake"]


def _tree_status() -> set[str] | None:
    """``git status --porcelain`` of the checkout (None outside a git checkout, e.g. an unpacked sdist)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"], cwd=root, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
    except OSError:
        return None
    return set(result.stdout.splitlines()) if result.returncode == 0 else None


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-snapshots", action="store_true", help="rewrite tests/checks/snapshots from the checks' output"
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller, once for the whole run
        session.config.stash[_TREE_BEFORE] = _tree_status()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite never writes into the checkout (the demo, a daemon's report, a database): what is new fails it."""
    if hasattr(session.config, "workerinput"):
        return
    before = session.config.stash.get(_TREE_BEFORE, None)
    after = _tree_status()
    if before is None or after is None:
        return
    written = sorted(after - before)
    if session.config.getoption("--update-snapshots"):
        written = [line for line in written if "tests/checks/snapshots/" not in line and "tests/golden/" not in line]
    if written:
        print("\nthe test suite wrote into the checkout:\n  " + "\n  ".join(written))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TREE_BEFORE = pytest.StashKey[set[str] | None]()

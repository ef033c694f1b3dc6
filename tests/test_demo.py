"""`make demo` runs a real Prometheus, a growing exporter and the daemon, and stops all of it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from auditor.app.clock import system_clock as utc_now
from auditor.demo.prometheus import find_prometheus
from auditor.store import Store, make_engine
from tests.conftest import missing

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]


def test_demo_shows_growth_and_stops_everything(tmp_path: Path) -> None:
    if find_prometheus() is None:
        missing("the prometheus binary")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    result = subprocess.run(
        [sys.executable, "-m", "auditor.demo", "--dir", str(tmp_path), "--duration", "34"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "metrics-auditor demo is running" in result.stdout
    assert "metrics-auditor history user_sessions" in result.stdout
    report = tmp_path / "report.html"
    assert f"the audit report of this demo is at {report}" in result.stdout
    assert "user_sessions" in report.read_text()

    engine = make_engine(f"sqlite:///{tmp_path / 'metrics-auditor.db'}")
    store = Store(engine)
    points = store.history("demo", "user_sessions", utc_now() - timedelta(hours=1))
    reads = store.usage.reads("demo", (utc_now() - timedelta(days=1)).date())
    engine.dispose()
    assert reads["user_sessions"].api >= 1, "the demo's dashboard query, credited from the query log"
    assert len(points) >= 3
    assert points[0].series == 40
    assert points[-1].series > points[0].series
    leftovers = subprocess.run(["pgrep", "-f", f"storage.tsdb.path={tmp_path}"], capture_output=True, check=False)
    assert leftovers.stdout == b"", "the demo's Prometheus was stopped"


def test_demo_without_prometheus_says_how_to_install_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")} | {"PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "auditor.demo", "--dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "apt-get install prometheus" in result.stderr

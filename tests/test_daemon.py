"""The daemon as a real subprocess: schedules cycles, serves /metrics, /healthz, /readyz, stops on SIGTERM."""

from __future__ import annotations

import itertools
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from auditor.cli.main import main
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from auditor.store import Store, make_engine
from tests.support.builders import ground_truth, utc_now
from tests.support.metrics import samples
from tests.support.servers import wait_until


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    wait_until(predicate, bool, timeout)


@contextmanager
def daemon(env: dict[str, str], log: Path, *options: str) -> Iterator[subprocess.Popen[bytes]]:
    """``metrics-auditor [OPTIONS] run`` in the background, its output in ``log``; killed if still running."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "auditor", *options, "run"], env=os.environ | env, stdout=out, stderr=out
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def run_once(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """``metrics-auditor [OPTIONS] run`` expected to exit by itself (a bad start): its code and output."""
    command = [sys.executable, "-m", "auditor", *options, "run"]
    return subprocess.run(command, env=os.environ | env, capture_output=True, text=True, timeout=30, check=False)


def get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


@pytest.mark.prometheus
def test_daemon_audits_serves_metrics_and_stops_cleanly(
    prometheus: LocalPrometheus, exporter: Exporter, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    for name in exporter.shape():
        exporter.remove(name)
    exporter.set("daemon_metric", 23)
    exporter.wait_for_scrapes(2)
    port = free_port()
    env = {
        "AUDITOR_PROMETHEUS_URL": prometheus.url,
        "AUDITOR_DATABASE_URL": database_url,
        "AUDITOR_AUDIT_INTERVAL": "1s",
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "AUDITOR_SOURCE": "daemon-test",
    }
    base = f"http://127.0.0.1:{port}"
    with daemon(env, tmp_path / "daemon.log") as process:
        wait_for(lambda: len(Store(engine).snapshots("daemon-test")) >= 3)
        metrics = samples(get(f"{base}/metrics").text)  # type: ignore[union-attr]
        health, ready = get(f"{base}/healthz"), get(f"{base}/readyz")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        stop_seconds = time.monotonic() - started

    assert stop_seconds < 6
    assert health is not None
    assert health.status_code == 200
    assert ready is not None
    assert ready.status_code == 200
    assert metrics['metrics_auditor_cycles_total{result="success"}'] >= 1
    assert metrics["metrics_auditor_census_metrics"] == len(ground_truth(exporter))
    assert metrics["metrics_auditor_prometheus_up"] == 1
    assert abs(metrics["metrics_auditor_last_success_timestamp_seconds"] - utc_now().timestamp()) < 30
    store = Store(engine)
    snapshots = store.snapshots("daemon-test")
    assert all(s.status == "ok" for s in snapshots)
    assert store.metric_counts(snapshots[0].id) == ground_truth(exporter)
    intervals = [(a.collected_at - b.collected_at).total_seconds() for a, b in itertools.pairwise(snapshots)]
    assert all(0.5 < gap < 3 for gap in intervals), intervals


def test_daemon_survives_an_unreachable_prometheus(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        "AUDITOR_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "AUDITOR_DATABASE_URL": sqlite_url,
        "AUDITOR_AUDIT_INTERVAL": "1s",
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{free_port()}",
        "AUDITOR_SOURCE": "down",
    }
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    base = f"http://{env['AUDITOR_LISTEN_ADDRESS']}"

    def failures() -> float:
        response = get(f"{base}/metrics")
        return (
            samples(response.text).get('metrics_auditor_cycle_failures_total{reason="unreachable"}', 0)
            if response
            else 0
        )

    with daemon(env, tmp_path / "daemon.log") as process:
        wait_for(lambda: failures() >= 3)
        ready = get(f"{base}/readyz")
        metrics = samples(get(f"{base}/metrics").text)  # type: ignore[union-attr]
        assert process.poll() is None, "the daemon is still running"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0

    assert ready is not None
    assert ready.status_code == 503
    assert metrics["metrics_auditor_prometheus_up"] == 0
    assert "metrics_auditor_last_success_timestamp_seconds" not in metrics
    log = (tmp_path / "daemon.log").read_text()
    assert "cycle failed (unreachable)" in log
    assert "Traceback" not in log
    engine = make_engine(sqlite_url)
    recorded = Store(engine).snapshots("down")
    engine.dispose()
    assert len(recorded) >= 3
    assert {s.status for s in recorded} == {"failed"}


def test_sigterm_during_a_hanging_cycle_exits_0_within_the_grace_period(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    black_hole = socket.socket()
    black_hole.bind(("127.0.0.1", 0))
    black_hole.listen(8)  # accepts connections, never answers
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    env = {
        "AUDITOR_PROMETHEUS_URL": f"http://127.0.0.1:{black_hole.getsockname()[1]}",
        "AUDITOR_DATABASE_URL": sqlite_url,
        "AUDITOR_PROMETHEUS__TIMEOUT": "60s",
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{free_port()}",
        "AUDITOR_SOURCE": "hanging",
    }
    try:
        with daemon(env, tmp_path / "daemon.log") as process:
            wait_for(lambda: get(f"http://{env['AUDITOR_LISTEN_ADDRESS']}/healthz") is not None)
            wait_for(lambda: bool(select.select([black_hole], [], [], 0)[0]))  # the cycle's request hangs there
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 0
            elapsed = time.monotonic() - started
    finally:
        black_hole.close()
    assert elapsed < 8
    assert "a cycle was abandoned" in (tmp_path / "daemon.log").read_text()
    engine = make_engine(sqlite_url)
    assert Store(engine).snapshots("hanging") == []
    engine.dispose()


def test_sighup_reloads_budgets_and_a_broken_edit_never_stops_the_daemon(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    budgets = tmp_path / "budgets.yml"
    budgets.write_text("defaults: {max_series: 100}\n")
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    env = {
        "AUDITOR_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "AUDITOR_DATABASE_URL": sqlite_url,
        "AUDITOR_BUDGETS_FILE": str(budgets),
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{free_port()}",
        "AUDITOR_SOURCE": "hup",
    }
    base = f"http://{env['AUDITOR_LISTEN_ADDRESS']}"

    def metric(name: str) -> float | None:
        response = get(f"{base}/metrics")
        return samples(response.text).get(name) if response else None

    with daemon(env, tmp_path / "daemon.log") as process:
        wait_for(lambda: metric("metrics_auditor_budgets_valid") == 1)
        budgets.write_text("defaults: {max_series: -1}\n")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: metric("metrics_auditor_budgets_reload_failures_total") == 1)
        assert metric("metrics_auditor_budgets_valid") == 0
        assert process.poll() is None
        budgets.write_text("defaults: {max_series: 50}\n")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: metric("metrics_auditor_budgets_valid") == 1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    log = (tmp_path / "daemon.log").read_text()
    assert f"budgets not reloaded, keeping the last good ones: {budgets}:1: defaults.max_series" in log
    assert "Traceback" not in log


def test_a_broken_budgets_file_at_start_exits_2(sqlite_url: str, tmp_path: Path) -> None:
    budgets = tmp_path / "budgets.yml"
    budgets.write_text("metrics:\n  - nme: x\n")
    env = {"AUDITOR_DATABASE_URL": sqlite_url, "AUDITOR_BUDGETS_FILE": str(budgets)}
    result = run_once(env)
    assert result.returncode == 2, result.stderr
    assert f"{budgets}:2: metrics.0.nme: unknown key" in result.stderr


@pytest.mark.prometheus
def test_sighup_reloads_the_configuration_and_a_broken_one_keeps_the_last_good(
    prometheus: LocalPrometheus, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    config = tmp_path / "auditor.yml"
    port = free_port()
    config.write_text(
        f"prometheus_url: {prometheus.url}\naudit_interval: 1s\nsource: reload\nlisten_address: 127.0.0.1:{port}\n"
    )
    env = {"AUDITOR_DATABASE_URL": sqlite_url}
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(sqlite_url)

    def metric(name: str) -> float | None:
        response = get(f"{base}/metrics")
        return samples(response.text).get(name) if response else None

    def stored() -> int:
        return len(Store(engine).snapshots("reload", limit=1000))

    log_file = tmp_path / "daemon.log"
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "auditor", "--config", str(config), "run"],
            env=os.environ | env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_for(lambda: metric("metrics_auditor_audit_interval_seconds") == 1 and stored() >= 1)
        config.write_text(
            f"prometheus_url: {prometheus.url}\naudit_interval: 2s\nsource: reload\nlisten_address: 127.0.0.1:1\n"
        )
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: metric('metrics_auditor_config_reloads_total{result="success"}') == 1)
        assert metric("metrics_auditor_audit_interval_seconds") == 2
        config.write_text(f"prometheus_url: {prometheus.url}\naudit_interval: every minute\nsource: reload\n")
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: metric('metrics_auditor_config_reloads_total{result="failure"}') == 1)
        assert metric("metrics_auditor_config_last_reload_successful") == 0
        assert metric("metrics_auditor_audit_interval_seconds") == 2
        before = stored()
        wait_for(lambda: stored() >= before + 2)  # still auditing, on the last good configuration
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
    log = log_file.read_text()
    assert "listen_address changed: it takes effect at the next restart" in log
    assert f"configuration not reloaded, the last good one stays in force: invalid settings: {config}:2:" in log
    assert "Traceback" not in log


def test_a_broken_configuration_at_start_exits_2_naming_the_line(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("source: x\naudit_interval: -5m\n")
    result = run_once({}, "--config", str(config))
    assert result.returncode == 2, result.stderr
    assert f"{config}:2: audit_interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_auto_migrate_prepares_an_empty_database_at_start(sqlite_url: str, tmp_path: Path) -> None:
    env = {
        "AUDITOR_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
        "AUDITOR_DATABASE_URL": sqlite_url,
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{free_port()}",
        "AUDITOR_SOURCE": "auto",
    }
    refused = run_once(env)
    assert refused.returncode == 4
    assert "run `metrics-auditor db upgrade`" in refused.stderr
    with daemon(env | {"AUDITOR_AUTO_MIGRATE": "true"}, tmp_path / "daemon.log") as process:
        wait_for(lambda: get(f"http://{env['AUDITOR_LISTEN_ADDRESS']}/healthz") is not None)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    engine = make_engine(sqlite_url)
    assert Store(engine).snapshots("auto")[0].status == "failed"  # schema in place: the failed cycle is recorded
    engine.dispose()

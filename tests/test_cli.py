"""CLI contract: exit codes and one-line errors without tracebacks (docs/cli.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.cli.main import main
from auditor.demo.prometheus import free_port
from auditor.store.migrate import head_revision


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=cwd,
    )


def test_usage_error_exits_2() -> None:
    result = run_cli("audit", "--format", "yaml")
    assert result.returncode == 2
    assert "invalid choice: 'yaml'" in result.stderr


def test_unknown_command_exits_2() -> None:
    assert run_cli("frobnicate").returncode == 2


def test_bad_config_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "auditor.yml"
    config.write_text("source: x\naudit_interval: often\n")
    result = run_cli("--config", str(config), "audit")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"metrics-auditor: error: invalid settings: {config}:2: audit_interval: "
        "invalid duration 'often': use a Prometheus duration such as 30s, 5m, 1h30m or 7d"
    ]


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("--config", str(tmp_path / "nope.yml"), "audit")
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_database_not_at_head_says_to_upgrade(tmp_path: Path) -> None:
    result = run_cli("audit", env={"AUDITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    assert result.returncode == 4
    assert "run `metrics-auditor db upgrade`" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreachable_prometheus_exits_3_in_one_line(tmp_path: Path) -> None:
    env = {
        "AUDITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "AUDITOR_PROMETHEUS_URL": f"http://127.0.0.1:{free_port()}",
    }
    assert run_cli("db", "upgrade", env=env).returncode == 0
    result = run_cli("audit", env=env)
    assert result.returncode == 3
    assert result.stderr.startswith("metrics-auditor: error: /api/v1/status/config: cannot connect")
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {"AUDITOR_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = run_cli("--debug", "audit", env=env)
    assert result.returncode == 4
    assert "Traceback" in result.stderr


def test_unreachable_database_exits_4(tmp_path: Path) -> None:
    env = {"AUDITOR_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"}
    result = run_cli("db", "upgrade", env=env)
    assert result.returncode == 4
    assert "database unavailable" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_is_idempotent(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    head = head_revision()
    assert f"upgraded from empty to {head}" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"already at revision {head}" in capsys.readouterr().out


def test_history_of_an_unknown_metric_says_so(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["history", "nope", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert '"points": []' in captured.out
    assert "no history stored yet" in captured.err


def test_history_rejects_a_bad_since() -> None:
    result = run_cli("history", "x", "--since", "last week")
    assert result.returncode == 2
    assert "neither a duration (7d, 12h) nor a date" in result.stderr


def test_module_and_console_script_agree() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("metrics-auditor ")

"""Users install the wheel, not a checkout: everything read at run time must ship inside it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from auditor.store.migrate import head_revision

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_installed_wheel_migrates_an_empty_database_from_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("metrics_auditor-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "--quiet", str(wheel)], check=True, capture_output=True, timeout=600)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    database = outside / "fresh.db"
    result = subprocess.run(
        [str(env_dir / "bin" / "metrics-auditor"), "db", "upgrade"],
        cwd=outside,
        env={"AUDITOR_DATABASE_URL": f"sqlite:///{database}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "upgraded from empty to" in result.stdout
    with sqlite3.connect(database) as conn:
        [(revision,)] = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert revision == head_revision()
    assert {"sources", "snapshots", "metric_names", "metric_series", "label_stats", "findings"} <= tables

    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import auditor.store.migrate as m; print(m.migrations_dir())"],
        cwd=outside,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(env_dir)), "migrations come from the installed package"

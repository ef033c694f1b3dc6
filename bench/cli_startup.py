"""``metrics-auditor audit`` as a whole process over a 10,000-metric census (issue 14: under 1.2 s).

The stand-in Prometheus (``bench.fake_prometheus``, 2.53: TSDB status with ``limit``) answers from its own
process; the database is a fresh SQLite file, migrated once. Each run is a new Python process, so the
figure includes start-up and imports, as an operator or a CI job sees it. Also: what importing the
command line alone costs (``metrics-auditor --version``).

The package's bytecode is compiled first, as ``pip install`` and the image do: a checkout run with
``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module of ``auditor`` on every run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RUNS = 5
PACKAGE = Path(__file__).resolve().parent.parent / "auditor"


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def run(url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "AUDITOR_PROMETHEUS_URL": url,
            "AUDITOR_DATABASE_URL": f"sqlite:///{tmp}/bench.db",
            "AUDITOR_SOURCE": "startup",
        }
        cli = [sys.executable, "-m", "auditor"]
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(PACKAGE)], check=True, capture_output=True)
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        audit = [_timed([*cli, "audit", "--format", "json"], env) for _ in range(RUNS)]
        version = [_timed([*cli, "--version"], env) for _ in range(RUNS)]
    return {"runs": RUNS, "audit_s": statistics.median(audit), "version_s": statistics.median(version)}


def report(r: dict[str, Any]) -> None:
    table = Table(title=f"metrics-auditor as a whole process (median of {r['runs']})")
    table.add_column("command")
    table.add_column("wall time", justify="right")
    table.add_row("audit --format json (10,000 metrics, SQLite)", f"{r['audit_s']:.2f} s")
    table.add_row("--version (start-up and imports only)", f"{r['version_s']:.2f} s")
    Console(width=160).print(table)
    Console(width=160).print("target (issue 14): audit under 1.2 s")

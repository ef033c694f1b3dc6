"""docs/getting-started.md, followed as written: its commands, against a real Prometheus, reach a first report."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "getting-started.md"
MARKER = "<!-- getting-started:"


def documented_commands() -> list[list[str]]:
    block = GUIDE.read_text().split(MARKER, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line]


@pytest.mark.prometheus
def test_the_guide_reaches_a_first_report(prometheus: LocalPrometheus, exporter: Exporter, tmp_path: Path) -> None:
    exporter.wait_for_scrapes(2)
    shutil.copytree(ROOT / "rules", tmp_path / "rules")  # "run these from the checkout"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    ran = []
    for command in documented_commands():
        if command[0] == "export":
            name, value = command[1].split("=", 1)
            env[name] = prometheus.url if name == "AUDITOR_PROMETHEUS_URL" else value
            continue
        assert command[0] == "metrics-auditor", command
        argv, output = (command[: command.index(">")], command[-1]) if ">" in command else (command, "")
        result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
        if output:
            (tmp_path / output).write_text(result.stdout)
        allowed = {0, 1} if command[1] == "check" else {0}
        assert result.returncode in allowed, f"{shlex.join(command)}: {result.stderr}"
        assert "Traceback" not in result.stderr
        ran.append(command[1])

    assert ran[0] == "db"
    assert "report" in ran
    assert "max_series:" in (tmp_path / "my-budgets.yml").read_text()
    report = (tmp_path / "first-report.html").read_text()
    assert report.startswith("<!DOCTYPE html>")
    assert re.search(r"user_sessions|up", report)

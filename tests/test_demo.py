"""`make demo` on Prometheus 3.5 with nothing on PATH, and every command of its guide, run as a user would.

The demo runs as a subprocess from the checkout's root with ``prometheus`` hidden from PATH; its guide is
read from what it prints, and each command is run in a second shell after exactly the line the guide gives
(``source DIR/env``). What the guide says each command shows is checked, at the time it says so.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.demo import __main__ as demo
from tests.support.servers import CACHE, ROOT, require, wait_until

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

UNUSED = {"http_requests_total", "node_cpu_seconds_total", "process_open_fds", "checkout_cart_items"}
"""The demo's metrics no query reads (user_sessions has its "dashboard"; Prometheus' own series are kept)."""


def _hidden_path() -> str:
    """PATH without any directory holding a ``prometheus``: the demo must find its own."""
    dirs = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "prometheus").exists()]
    return os.pathsep.join(dirs)


class Demo:
    def __init__(self, process: subprocess.Popen[str], out: Path) -> None:
        self.process, self.out = process, out
        self.started = time.monotonic()

    def text(self) -> str:
        return self.out.read_text(errors="replace")

    def commands(self) -> list[str]:
        """The second terminal's lines of the printed guide, comments cut, in order."""
        guide = self.text().split("In another terminal, from this directory:", 1)[1].split("The budgets are in", 1)[0]
        lines = [line.split("#", 1)[0].strip() for line in guide.splitlines()]
        return [line for line in lines if line]

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """``command`` in a fresh shell after the guide's first line, from where the demo was started."""
        source = self.commands()[0]
        return subprocess.run(
            ["bash", "-c", f"{source} && {command}"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
            env={k: v for k, v in os.environ.items() if not k.startswith("AUDITOR_")},
        )  # fmt: skip


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    require("3.5")  # fetched by make test; a missing one fails in CI
    workdir = tmp_path_factory.mktemp("demo")
    out = workdir.parent / "demo.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "DEMO_"))}
    env |= {"PATH": _hidden_path(), "AUDITOR_SERVERS_DIR": str(CACHE)}
    with out.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "auditor.demo", "--dir", str(workdir), "--duration", "600"],
            cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    running = Demo(process, out)
    try:
        wait_until(running.text, lambda t: "The budgets are in" in t or process.poll() is not None, what="the guide")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_demo_runs_on_prometheus_3_5_without_one_on_path_and_its_guide_sources_one_file(running: Demo) -> None:
    text = running.text()
    assert re.search(r"Prometheus 3\.5\.\d+", text), text[:800]
    commands = running.commands()
    assert commands[0].startswith("source ")
    assert commands[0].endswith("/env")
    assert [c.split("metrics-auditor ", 1)[1] for c in commands[1:]] == [
        "audit", "history user_sessions", "history user_sessions --format json", "check", "budgets init",
        "usage --unused",
    ]  # fmt: skip
    assert all(c.startswith(".venv/bin/metrics-auditor ") for c in commands[1:]), "typed from the checkout's root"
    census = running.run(".venv/bin/metrics-auditor audit --format json")
    assert census.returncode == 75, census.stderr  # the daemon writes the source: printed, not stored
    assert json.loads(census.stdout)["metrics"], "the census of the daemon's Prometheus"
    assert "tsdb_status" in text, "Prometheus 3.5's census method, not count_by_name"


def test_history_and_budgets_init_show_what_the_guide_says(running: Demo, tmp_path: Path) -> None:
    history = wait_until(
        lambda: running.run(".venv/bin/metrics-auditor history user_sessions --format json"),
        lambda r: r.returncode == 0 and len(json.loads(r.stdout)["points"]) >= 2, timeout=60, what="history",
    )  # fmt: skip
    points = json.loads(history.stdout)["points"]
    assert points[0]["series"] == 40
    table = running.run(".venv/bin/metrics-auditor history user_sessions")
    assert table.returncode == 0
    assert "user_sessions" in table.stdout
    starter = running.run(".venv/bin/metrics-auditor budgets init")
    assert starter.returncode == 0, starter.stderr
    assert "user_sessions" in starter.stdout
    (tmp_path / "starter.yml").write_text(starter.stdout)
    checked = running.run(f".venv/bin/metrics-auditor budgets check {tmp_path / 'starter.yml'}")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_check_names_user_sessions_over_budget_and_cart_id_against_the_policy_when_the_guide_says(
    running: Demo,
) -> None:
    def violations() -> set[tuple[str, str]]:
        result = running.run(".venv/bin/metrics-auditor check --format json")
        found = json.loads(result.stdout)["violations"] if result.stdout.strip() else []
        return {
            (v.get("metric", ""), v["kind"] + ("/" + v["label"] if v["kind"] == "label_policy" else "")) for v in found
        }

    wanted = {("user_sessions", "series"), ("checkout_cart_items", "label_policy/cart_id")}
    wait_until(violations, lambda found: wanted <= found, timeout=240, what="both violations")
    minutes = (time.monotonic() - running.started) / 60
    assert minutes < 3, f"the guide says ~1.5 minutes; it took {minutes:.1f}"
    table = running.run(".venv/bin/metrics-auditor check")
    assert table.returncode == 1
    assert "user_sessions" in table.stdout
    assert "cart_id" in table.stdout


def test_check_prints_a_safe_fix_and_refuses_one_that_merges_series_when_the_guide_says(running: Demo) -> None:
    def fixes() -> dict[tuple[str, str], dict[str, object]]:
        result = running.run(".venv/bin/metrics-auditor check --format json")
        found = json.loads(result.stdout)["violations"] if result.stdout.strip() else []
        return {(v["metric"], v.get("label") or v["kind"]): v["fix"] for v in found if "fix" in v}

    found = wait_until(fixes, lambda f: f.get(("http_requests_total", "handler"), {}).get("safe") is True,
                       timeout=300, what="the safe fix of handler")  # fmt: skip
    minutes = (time.monotonic() - running.started) / 60
    assert minutes < 4, f"the guide says after 2 minutes of query log; it took {minutes:.1f}"
    safe = found[("http_requests_total", "handler")]
    proof = safe["proof"]
    assert isinstance(proof, dict)
    assert safe["action"] == "drop_label"
    assert proof["series_with"] == proof["series_without"] == safe["predicted_series"], "it merges nothing"
    refused = found[("user_sessions", "series")]
    assert (refused["action"], refused["label"], refused["safe"]) == ("fix_at_source", "user_id", False)
    assert "config" not in refused
    merging = [key for key, fix in found.items() if "config" in fix and isinstance(fix["proof"], dict)
               and fix["proof"].get("merges")]  # fmt: skip
    assert merging == [], "no printed relabeling merges series"
    table = running.run(".venv/bin/metrics-auditor check").stdout
    assert "fix_at_source `user_id` (a relabeling would merge series, nothing to paste)" in table
    assert "drop_label `handler` (safe: merges nothing, keeps all" in table


def test_usage_unused_names_the_four_unread_metrics_after_two_minutes(running: Demo) -> None:
    def unused() -> set[str]:
        result = running.run(".venv/bin/metrics-auditor usage --unused --format json")
        return (
            {m["name"] for m in json.loads(result.stdout)["metrics"] if m["unused"]}
            if result.returncode == 0
            else set()
        )

    found = wait_until(unused, lambda names: names == UNUSED, timeout=300, what="the four unused metrics")
    minutes = (time.monotonic() - running.started) / 60
    assert found == UNUSED
    assert 2 <= minutes < 4, f"the guide says after 2 minutes; it took {minutes:.1f}"
    table = running.run(".venv/bin/metrics-auditor usage --unused")
    assert table.returncode == 0
    assert all(name in table.stdout for name in UNUSED)
    assert "user_sessions" not in table.stdout.split("unused", 1)[-1]


def test_ctrl_c_stops_everything_and_leaves_the_report_in_the_demo_folder(running: Demo) -> None:
    workdir = Path(running.commands()[0].split(" ", 1)[1]).parent
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=90) == 0
    text = running.text()
    report = workdir / "report.html"
    assert f"the audit report of this demo is at {report}" in text
    assert "user_sessions" in report.read_text()
    leftovers = subprocess.run(["pgrep", "-f", f"storage.tsdb.path={workdir}"], capture_output=True, check=False)
    assert leftovers.stdout == b"", "the demo's Prometheus was stopped"


def test_without_a_server_the_demo_says_how_to_get_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "DEMO_"))}
    for extra, says in (
        ({"AUDITOR_SERVERS_DIR": str(tmp_path)}, f"run `scripts/fetch-servers {demo.SERVER}` (make demo does)"),
        ({"DEMO_PROMETHEUS": str(tmp_path / "nothing")}, "no executable prometheus there"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "auditor.demo", "--dir", str(tmp_path / "d")], env=env | extra,
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        assert result.returncode == 2
        assert says in result.stderr
        assert "DEMO_PROMETHEUS=/usr/bin/prometheus" in result.stderr or "DEMO_PROMETHEUS=" in result.stderr

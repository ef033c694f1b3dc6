"""The Grafana dashboard reads only metrics a running auditor exports, and is what its generator makes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from auditor.store import Store, make_engine, upgrade
from tests.support.builders import save_census
from tests.test_daemon import daemon, get, wait_for

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "metrics-auditor.json"
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$instance": ".*"}

BUDGETS = """defaults: {owner: platform, max_series: 1000, growth_min_series: 10}
metrics:
  - name: user_sessions
    owner: team-identity
    max_series: 120
    labels: {user_id: {max_values: 100}}
  - name: grower
    owner: team-growth
    max_series: 100
    max_growth: {7d: 0.2}
  - name: quiet
    owner: team-quiet
    max_series: 50
"""
DESIRED_RULES = """groups:
  - name: wanted
    rules:
      - record: job:user_sessions:count
        expr: count by (job) (user_sessions)
"""


def panels(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in document["panels"]:
        found.append(panel)
        found += panel.get("panels", [])
    return found


def queries() -> list[str]:
    document = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in panels(document) for target in panel.get("targets", [])]
    exprs += [var["query"] for var in document["templating"]["list"] if var["type"] == "query"]
    return exprs


def metric_names(expr: str) -> set[str]:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    if expr.startswith("label_values("):
        return {expr.removeprefix("label_values(").split(",")[0].strip()}
    names: set[str] = set()
    promql_parser.walk(
        promql_parser.parse(expr),
        lambda node: names.add(node.name) if isinstance(node, promql_parser.VectorSelector) else None,
    )
    return names


def test_every_query_parses_and_reads_auditor_metrics_only() -> None:
    names = set().union(*(metric_names(expr) for expr in queries()))
    assert names
    assert all(name.startswith("metrics_auditor_") for name in names), names


def test_the_dashboard_is_what_its_generator_makes() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/dashboard.py"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == DASHBOARD.read_text(), "regenerate with scripts/dashboard.py --write"


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    document = json.loads(DASHBOARD.read_text())
    all_panels = panels(document)
    assert len({p["id"] for p in all_panels}) == len(all_panels)
    cells: set[tuple[int, int]] = set()
    for panel in all_panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24
        area = {(x, y) for x in range(pos["x"], pos["x"] + pos["w"]) for y in range(pos["y"], pos["y"] + pos["h"])}
        assert not area & cells, panel["title"]
        cells |= area


def seed_history(database_url: str, now: datetime) -> None:
    """A week-old baseline for the growth check and two days of hourly growth for the forecast."""
    engine = make_engine(database_url)
    upgrade(engine)
    store = Store(engine)

    def save(at: datetime, grower: int) -> None:
        metrics = {"grower": grower, "quiet": 45, "user_sessions": 150}
        census = Census("dash", at, "2.42.0", CensusMethod.COUNT_BY_NAME, SeriesNotion.ACTIVE,
                        HeadStats(sum(metrics.values()), 0, 0, 0, 0), metrics)  # fmt: skip
        save_census(store, census, "seed", 0.1)

    save(now - timedelta(days=7), 20)
    for hours_ago in range(48, 0, -1):
        save(now - timedelta(hours=hours_ago), 60 - hours_ago // 2)
    engine.dispose()


@pytest.mark.prometheus
def test_every_dashboard_metric_is_in_a_running_auditors_exposition(
    prometheus: LocalPrometheus, exporter: Exporter, sqlite_url: str, tmp_path: Path
) -> None:
    for name in exporter.shape():
        exporter.remove(name)
    exporter.set("user_sessions", 150, label="user_id")
    exporter.set("grower", 60)
    exporter.set("quiet", 45)
    exporter.wait_for_scrapes(2)
    seed_history(sqlite_url, datetime.now(UTC))
    (tmp_path / "budgets.yml").write_text(BUDGETS)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "wanted.yml").write_text(DESIRED_RULES)
    port = free_port()
    env = {
        "AUDITOR_PROMETHEUS_URL": prometheus.url,
        "AUDITOR_DATABASE_URL": sqlite_url,
        "AUDITOR_AUDIT_INTERVAL": "2s",
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{port}",
        "AUDITOR_SOURCE": "dash",
        "AUDITOR_BUDGETS_FILE": str(tmp_path / "budgets.yml"),
        "AUDITOR_RULES_DIR": str(tmp_path / "rules"),
    }

    def scrape() -> str:
        response = get(f"http://127.0.0.1:{port}/metrics")
        return response.text if response is not None else ""

    with daemon(env, tmp_path / "daemon.log") as process:
        wait_for(lambda: "metrics_auditor_budget_exhaustion_seconds{" in scrape())
        text = scrape()
        process.terminate()
        process.wait(timeout=10)

    exported = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    exported |= {name + "_total" for name in re.findall(r"^# TYPE (\S+) counter", text, flags=re.MULTILINE)}
    wanted = set().union(*(metric_names(expr) for expr in queries()))
    assert wanted - exported == set()
    for kind in ("budget_exceeded", "budget_warning", "growth_exceeded", "label_budget_exceeded"):
        assert re.search(rf"^metrics_auditor_{kind}\{{.*\}} 1\.0$", text, flags=re.MULTILINE), kind
    assert re.search(r"^metrics_auditor_rules_missing(\{.*\})? 1\.0$", text, flags=re.MULTILINE)

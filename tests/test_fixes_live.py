"""The printed fixes on a real Prometheus (2.42 and 3.5): applied as printed, they do exactly what they predict.

The exporter's shape is the ground truth:

- ``user_sessions``: ``user_id`` (100) x ``region`` (3), and ``region_code``, which follows ``region``: 300 series.
  ``user_id`` makes series unique (without it 3 are left): never a relabeling, a fix at the source.
  ``region_code`` makes none unique and nobody reads it (the label policy denies it): a safe ``drop_label``.
  A query of the log reads ``region``.
- ``cart_items``: ``pod`` (4) and ``node``, which follows ``pod``; a desired rule groups by ``node``: blocked.
- ``edge_requests``: over budget, read only by a dashboard panel: never called unused.
- ``never_read``: over budget, read by nothing over a window the query log covers: a safe ``drop_metric``.

The safe configs are pasted into the scrape job and the server reloaded: the active series equal the
predictions exactly, and the duplicate-sample counter does not move.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import Settings, UsageSettings
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store
from tests.support.servers import require, wait_until
from tests.test_jobs import samples, scrape

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

BUDGETS = """\
defaults: {owner: platform, max_series: 10000}
metrics:
  - name: user_sessions
    owner: team-identity
    max_series: 100
    labels_denied: [region_code]
  - name: cart_items
    owner: team-shop
    labels_denied: [node]
  - name: edge_requests
    owner: team-edge
    max_series: 2
  - name: never_read
    owner: team-old
    max_series: 2
"""
RULES = """\
groups:
  - name: shop
    rules:
      - record: node:cart_items:sum
        expr: sum by (node) (cart_items)
"""
DASHBOARD = {"title": "Edge", "panels": [{"title": "Requests", "targets": [{"expr": "sum(edge_requests)"}]}]}
WINDOW = timedelta(seconds=2)
DUPLICATES = "prometheus_target_scrapes_sample_duplicate_timestamp_total"


class Live:
    def __init__(self, prometheus: LocalPrometheus, tmp: Path) -> None:
        self.prometheus, self.tmp = prometheus, tmp
        self.log = tmp / "query.log"

    def value(self, expr: str) -> float | None:
        response = httpx.post(f"{self.prometheus.url}/api/v1/query", data={"query": expr}, timeout=10)
        result = response.json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    def own(self, name: str) -> float:
        """A counter of the server's own /metrics (summed over its series)."""
        text = httpx.get(f"{self.prometheus.url}/metrics", timeout=10).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))

    def apply(self, configs: list[str]) -> None:
        relabel = [rule for config in configs for rule in yaml.safe_load(config)["metric_relabel_configs"]]
        before = self.own("prometheus_config_last_reload_success_timestamp_seconds")
        self.prometheus.job_options = {"metric_relabel_configs": relabel}
        self.prometheus.write_config()
        httpx.post(f"{self.prometheus.url}/-/reload", timeout=10).raise_for_status()
        wait_until(lambda: self.own("prometheus_config_last_reload_success_timestamp_seconds"),
                   lambda t: t > before, what="the configuration reloaded")  # fmt: skip


@pytest.fixture(params=["2.42", "3.5"])
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    exporter = Exporter()
    exporter.set("user_sessions", labels={"user_id": 100, "region": 3}, derived={"region_code": "region"})
    exporter.set("cart_items", labels={"pod": 4}, derived={"node": "pod"})
    exporter.set("edge_requests", 5)
    exporter.set("never_read", 5)
    exporter.start()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shop.yml").write_text(RULES)
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "dashboards" / "edge.json").write_text(json.dumps(DASHBOARD))
    (tmp_path / "budgets.yml").write_text(BUDGETS)
    prometheus = LocalPrometheus(
        tmp_path / "prom", [exporter.target], binary=require(request.param).binary,
        global_options={"query_log_file": str(tmp_path / "query.log")}, extra_args=["--web.enable-lifecycle"],
    )  # fmt: skip
    (tmp_path / "prom").mkdir()
    try:
        prometheus.start()
        exporter.wait_for_scrapes(2)
        yield Live(prometheus, tmp_path)
    finally:
        prometheus.stop()
        exporter.stop()


def settings_for(live: Live) -> Settings:
    return Settings(  # type: ignore[call-arg]
        prometheus_url=live.prometheus.url, source="fixes", budgets_file=live.tmp / "budgets.yml",
        rules_dir=live.tmp / "rules", dashboards_dir=live.tmp / "dashboards", query_log_file=live.log,
        usage=UsageSettings(unused_after=WINDOW),
    )  # fmt: skip


def checked(live: Live, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict:
    for name, value in (("DATABASE_URL", engine.url.render_as_string(hide_password=False)), ("SOURCE", "fixes"),
                        ("BUDGETS_FILE", live.tmp / "budgets.yml"), ("RULES_DIR", live.tmp / "rules"),
                        ("DASHBOARDS_DIR", live.tmp / "dashboards"), ("QUERY_LOG_FILE", live.log),
                        ("USAGE__UNUSED_AFTER", "2s"), ("PROMETHEUS_URL", live.prometheus.url)):  # fmt: skip
        monkeypatch.setenv(f"AUDITOR_{name}", str(value))
    assert main(["check", "--format", "json"]) == 1
    return json.loads(capsys.readouterr().out)


def test_printed_fixes_do_what_they_predict_and_refused_ones_print_no_config(
    live: Live, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live.value("sum by (region) (user_sessions)")  # a reader of region, and the log's first entry
    settings = settings_for(live)
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()

        def covered() -> bool:
            auditor.run_cycle()
            state = Store(engine).usage.state("fixes")
            return bool(state and state.covered_since and state.read_at - state.covered_since >= WINDOW)

        wait_until(covered, bool, what="the query log covering the usage window")
    fixes = {
        (v["metric"], v["kind"], v.get("label")): v["fix"]
        for v in checked(live, engine, monkeypatch, capsys)["violations"]
    }
    at_source = fixes[("user_sessions", "series", None)]
    assert (at_source["action"], at_source["label"], at_source["safe"]) == ("fix_at_source", "user_id", False)
    assert "config" not in at_source, "a label that makes series unique is never printed with a relabeling"
    assert (at_source["proof"]["series_with"], at_source["proof"]["series_without"]) == (300, 3)
    assert at_source["predicted_series"] == 3
    safe = fixes[("user_sessions", "label_policy", "region_code")]
    assert (safe["action"], safe["safe"], safe["predicted_series"]) == ("drop_label", True, 300)
    assert (safe["proof"]["series_with"], safe["proof"]["series_without"]) == (300, 300)
    blocked = fixes[("cart_items", "label_policy", "node")]
    assert (blocked["action"], blocked["safe"], "config" in blocked) == ("drop_label", False, False)
    assert {"kind": "rule", "name": "shop/node:cart_items:sum"} in blocked["blocked_by"]
    edge = fixes[("edge_requests", "series", None)]
    assert (edge["action"], edge["safe"]) == ("fix_at_source", False), "read by a dashboard: never dropped as unused"
    dropped = fixes[("never_read", "series", None)]
    assert (dropped["action"], dropped["safe"], dropped["predicted_series"]) == ("drop_metric", True, 0)

    assert main(["usage", "--unused", "--format", "json"]) == 0
    unused = {row["name"] for row in json.loads(capsys.readouterr().out)["metrics"]}
    assert "never_read" in unused
    assert "edge_requests" not in unused
    assert main(["usage", "user_sessions", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)["metrics"]
    read = {label["name"]: label for label in row["labels"]}
    assert read["region"]["used"]
    assert read["region"]["readers"][0]["name"] == "sum by (region) (user_sessions)"
    assert not read["region_code"]["used"]
    assert not read["user_id"]["used"]

    duplicates = live.own(DUPLICATES)
    live.apply([safe["config"], dropped["config"]])
    wait_until(lambda: (live.value('count(user_sessions{region_code=""})'), live.value("count(never_read)")),
               lambda got: got == (300.0, None), what="the fixes in force")  # fmt: skip
    assert live.value("count(user_sessions)") == 300, "removing region_code merged nothing: every series is kept"
    assert live.value("count(cart_items)") == 4, "the blocked fix was not applied"
    assert live.own(DUPLICATES) == duplicates, "no series collided"

    def ledger() -> dict[tuple[str, str], str]:
        auditor.run_cycle()
        return {(f.metric, f.label): f.state.value for f in Store(engine).fixes.all("fixes")}

    landed = {("user_sessions", "region_code"): "verified", ("never_read", ""): "verified"}
    with build_auditor(settings, engine=engine) as auditor:
        states = wait_until(ledger, lambda got: landed.items() <= got.items(), what="the safe fixes verified")
        exposition = samples(scrape(auditor))
    assert states[("user_sessions", "user_id")] == "proposed", "nothing changed at the source"
    assert states[("cart_items", "node")] == "proposed", "the blocked fix was not applied"
    assert exposition["metrics_auditor_fixes"][(("state", "verified"),)] == 2, states
    assert exposition["metrics_auditor_fix_series_saved"] == {(): 5}, "never_read's 5; removing region_code saves none"
    assert main(["fixes", "--format", "json"]) == 0
    rows = {(f["metric"], f["label"]): f for f in json.loads(capsys.readouterr().out)["fixes"]}
    region = rows[("user_sessions", "region_code")]
    assert (region["predicted_series"], region["measured_series"], region["error_ratio"]) == (300, 300, 0.0)
    assert region["applied_at"] is not None

    # Someone pastes the refused relabeling anyway: the series merge, and the ledger calls the fix harmful.
    merging = yaml.safe_dump({"metric_relabel_configs": [{
        "source_labels": ["__name__"], "regex": "user_sessions", "target_label": "user_id", "replacement": "",
        "action": "replace",
    }]})  # fmt: skip
    live.apply([safe["config"], dropped["config"], merging])
    wait_until(lambda: live.value("count(user_sessions)"), lambda n: n == 3, what="300 series merged into 3")
    harmful = {("user_sessions", "region_code"): "harmful"}
    with build_auditor(settings, engine=engine) as auditor:
        wait_until(ledger, lambda got: harmful.items() <= got.items(), what="the merge seen as harm")
        exposition = samples(scrape(auditor))
    assert exposition["metrics_auditor_fix_harmful"] == {(("metric", "user_sessions"), ("owner", "team-identity")): 1}

"""Classic histograms to native ones on a real Prometheus 3.5 with native histograms (docs/histograms.md).

The exporter's shape is the ground truth: ``req_seconds`` has 3 routes x (4 bounds + ``+Inf``) buckets, and its
``le="0.5"`` bucket never fills; ``db_seconds`` has 2 ops x 3 buckets. Desired rules, a dashboard panel and a
query of the log read them. ``histograms`` predicts the series exactly; the printed switch, pasted into the job
and reloaded, stores exactly the predicted native series beside the classic ones (the dual period); every
rewritten rule answers what the original answers on the same samples (1e-9 relative), and so does its dual form;
once the classic series go, the ledger measures each conversion as verified. The servers where no switch is
recommended are in test_histograms_servers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import Settings
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store
from tests.support.servers import require, wait_until
from tests.test_jobs import samples, scrape

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

MEAN = "sum by (route) (rate(req_seconds_sum[5s])) / sum by (route) (rate(req_seconds_count[5s]))"
UNDER_1S = 'sum by (route) (rate(req_seconds_bucket{le="1.0"}[5s])) / sum by (route) (rate(req_seconds_count[5s]))'
RULES = {
    "route:req_seconds:p50": "histogram_quantile(0.5, sum by (le, route) (rate(req_seconds_bucket[5s])))",
    "route:req_seconds:p95": "histogram_quantile(0.95, sum by (le, route) (rate(req_seconds_bucket[5s])))",
    "route:req_seconds:rate": "sum by (route) (rate(req_seconds_count[5s]))",
    "route:req_seconds:mean": MEAN,
    "route:req_seconds:under_1s": UNDER_1S,
    "req_seconds:buckets": "count(req_seconds_bucket)",
}
PANEL = 'histogram_quantile(0.9, sum by (le) (rate(db_seconds_bucket{job=~"$job"}[$__rate_interval])))'
DASHBOARD = {"title": "DB", "panels": [{"title": "p90", "targets": [{"expr": PANEL}]}]}
LOGGED = "sum(rate(db_seconds_count[5s]))"


class Live:
    def __init__(self, prometheus: LocalPrometheus, exporter: Exporter, tmp: Path) -> None:
        self.prometheus, self.exporter, self.tmp = prometheus, exporter, tmp
        self.exposition: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        """The auditor's self-metrics after its cycle."""

    def vector(self, expr: str, at: float | None = None) -> dict[str, float]:
        form = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
        body = httpx.post(f"{self.prometheus.url}/api/v1/query", data=form, timeout=10).json()
        assert body["status"] == "success", body
        return {json.dumps(r["metric"], sort_keys=True): float(r["value"][1]) for r in body["data"]["result"]}

    def count(self, expr: str) -> int:
        return int(sum(self.vector(f"count({expr})").values()))

    def reload(self, options: dict[str, object]) -> None:
        self.prometheus.job_options = options
        self.prometheus.write_config()
        httpx.post(f"{self.prometheus.url}/-/reload", timeout=10).raise_for_status()

    def settings(self) -> Settings:
        return Settings(  # type: ignore[call-arg]
            prometheus_url=self.prometheus.url, source="hist", rules_dir=self.tmp / "rules",
            dashboards_dir=self.tmp / "dashboards", query_log_file=self.tmp / "query.log",
        )  # fmt: skip


def start(version: str, tmp: Path, native: bool) -> Live:
    exporter = Exporter()
    exporter.set_histogram("req_seconds", {"route": 3}, [0.1, 0.5, 1.0, 5.0], empty=(0.5,))
    exporter.set_histogram("db_seconds", {"op": 2}, [0.01, 0.1])
    exporter.set("plain", 4)
    exporter.start()
    (tmp / "rules").mkdir()
    rules = [{"record": name, "expr": expr} for name, expr in RULES.items()]
    (tmp / "rules" / "api.yml").write_text(yaml.safe_dump({"groups": [{"name": "api", "rules": rules}]}))
    (tmp / "dashboards").mkdir()
    (tmp / "dashboards" / "db.json").write_text(json.dumps(DASHBOARD))
    prometheus = LocalPrometheus(
        tmp / "prom", [exporter.target], binary=require(version).binary, extra_args=["--web.enable-lifecycle",
        *(["--enable-feature=native-histograms"] if native else [])],
        global_options={"query_log_file": str(tmp / "query.log")},
    )  # fmt: skip
    prometheus.start()
    exporter.wait_for_scrapes(3)
    return Live(prometheus, exporter, tmp)


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    version, native = request.param
    running = start(version, tmp_path, native)
    try:
        yield running
    finally:
        running.prometheus.stop()
        running.exporter.stop()


def histograms(live: Live, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
               *extra: str) -> dict:  # fmt: skip
    live.vector(LOGGED)  # the query log's reader of db_seconds_count
    with build_auditor(live.settings(), engine=engine) as auditor:
        auditor.run_cycle()
        live.exposition = samples(scrape(auditor))
    environment = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False), "SOURCE": "hist",
        "RULES_DIR": live.tmp / "rules", "DASHBOARDS_DIR": live.tmp / "dashboards",
        "QUERY_LOG_FILE": live.tmp / "query.log", "PROMETHEUS_URL": live.prometheus.url,
    }  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(f"AUDITOR_{name}", str(value))
    assert main(["histograms", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def by_family(document: dict) -> dict[str, dict]:
    return {(h["metric"]): h for h in document["histograms"] if h["job"] == "demo"}


def assert_inventory_is_the_exporters(document: dict, live: Live) -> None:
    shape = live.exporter.shape()
    req, db = by_family(document)["req_seconds"], by_family(document)["db_seconds"]
    assert (req["label_sets"], req["buckets"], req["series_now"], req["series_after"]) == (3, 5, 21, 3)
    assert req["series_now"] == sum(shape[f"req_seconds{s}"] for s in ("_bucket", "_sum", "_count"))
    assert (db["label_sets"], db["buckets"], db["series_now"], db["series_after"]) == (2, 3, 10, 2)
    assert [float(le) for le in req["empty_buckets"]] == [0.5]
    assert (req["empty_bucket_series"], db["empty_buckets"]) == (3, [])


@pytest.mark.parametrize("live", [("3.5", True)], indirect=True)
def test_on_3_5_with_native_histograms_the_switch_stores_the_prediction_and_the_rewrites_answer_the_same(
    live: Live, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = histograms(live, engine, monkeypatch, capsys, "--rules-out", str(live.tmp / "rewritten"))
    assert document["server"]["native_histograms"] is True
    assert_inventory_is_the_exporters(document, live)
    saved = live.exposition["metrics_auditor_histogram_series_saved"]
    assert {dict(k)["metric"]: v for k, v in saved.items()} == {"req_seconds": 18, "db_seconds": 8}
    assert live.exposition["metrics_auditor_histogram_convertible_series_saved"][()] == 26
    assert live.exposition["metrics_auditor_histogram_switch_stores"][()] == 1
    req, db = by_family(document)["req_seconds"], by_family(document)["db_seconds"]
    assert req["switch"]["recommended"] is True
    assert "convert_classic_histograms_to_nhcb: true" in req["switch"]["config"]
    assert "convertClassicHistogramsToNHCB: true" in req["switch"]["operator"]
    rewritten = {q["where"].removeprefix("rule: api/"): q for q in req["queries"]}
    assert set(rewritten) == set(RULES) - {"req_seconds:buckets"}
    assert [m["where"] for m in req["manual"]] == ["rule: api/req_seconds:buckets"]
    panel = next(q for q in db["queries"] if q["where"].startswith("dashboard"))
    assert panel["after"] == 'histogram_quantile(0.9, sum(rate(db_seconds{job=~"$job"}[$__rate_interval])))'
    logged = next(q for q in db["queries"] if q["where"].startswith("query"))
    assert logged["after"] == "sum(histogram_count(rate(db_seconds[5s])))"
    assert document["rules_written"] == [str(live.tmp / "rewritten" / "api.yml")]
    assert main(["rules", "diff", str(live.tmp / "rules"), str(live.tmp / "rewritten"), "--format", "json"]) == 1
    diff = json.loads(capsys.readouterr().out)
    assert {c["record"] for c in diff["changed"]} == set(rewritten)

    switch = yaml.safe_load(req["switch"]["config"])["scrape_configs"][0]
    live.reload({k: v for k, v in switch.items() if k != "job_name"})
    wait_until(lambda: live.count('req_seconds{job="demo"}'), lambda n: n > 0, what="native histograms stored")
    assert live.count('req_seconds{job="demo"}') == req["series_after"], "one native series per label set"
    assert live.count('db_seconds{job="demo"}') == db["series_after"]
    assert live.count('{__name__=~"req_seconds_.*", job="demo"}') == req["series_now"], "the dual period keeps them"

    first = time.time()  # the native series exist from here on (same clock as the server's)
    wait_until(time.time, lambda now: now > first + 8, what="8s of native samples")
    at = first + 7.5  # every rule's 5s window holds only scrapes that stored both forms
    for name, query in rewritten.items():
        before, after, dual = (live.vector(query[k], at) for k in ("before", "after", "dual"))
        assert before, name
        assert before.keys() == after.keys() == dual.keys(), name
        for key, value in before.items():
            assert math.isclose(after[key], value, rel_tol=1e-9), (name, key, value, after[key])
            assert math.isclose(dual[key], value, rel_tol=1e-9), (name, key)

    live.reload({"convert_classic_histograms_to_nhcb": True})  # the dual period over
    wait_until(lambda: live.count('{__name__=~"req_seconds_.*", job="demo"}'), lambda n: n == 0, timeout=30,
               what="the classic series gone")  # fmt: skip

    def ledger() -> dict[tuple[str, str, str], tuple[str, int | None]]:
        with build_auditor(live.settings(), engine=engine) as auditor:
            auditor.run_cycle()
        return {(f.metric, f.label, f.action.value): (f.state.value, f.measured_series)
                for f in Store(engine).fixes.all("hist")}  # fmt: skip

    states = wait_until(ledger, lambda got: got.get(("req_seconds", "demo", "convert_histogram"), ("",))[0]
                        == "verified", what="the conversion verified")  # fmt: skip
    assert states[("req_seconds", "demo", "convert_histogram")] == ("verified", 3)
    assert states[("db_seconds", "demo", "convert_histogram")] == ("verified", 2)

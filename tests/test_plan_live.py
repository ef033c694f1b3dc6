"""``plan`` against a real Prometheus 3.5: the exposition scraped from its URL, the job's relabeling read from the
server's own configuration, its targets from the stored job census; what it predicts per metric is what the
server stores for that job, and a recorded plan is measured by the next cycle."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import Settings
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store
from tests.support.fixed_exporter import FixedExporter
from tests.support.servers import require, wait_until
from tests.test_relabel_live import EXPOSITION

pytestmark = [pytest.mark.prometheus]
RULES = [
    {"action": "labeldrop", "regex": "user_id"},
    {"source_labels": ["path"], "regex": "/api/users/\\d+", "target_label": "path", "replacement": "/api/users/:id"},
]


def stored(url: str) -> dict[str, int]:
    form = {"query": 'count by (__name__) ({job="api", __name__=~"plan_.*"})'}
    result = httpx.post(f"{url}/api/v1/query", data=form, timeout=10).json()["data"]["result"]
    return {r["metric"]["__name__"]: int(r["value"][1]) for r in result}


def test_the_prediction_from_the_servers_own_relabeling_is_what_it_stores(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = FixedExporter(EXPOSITION)
    target = exporter.start()
    prometheus = LocalPrometheus(tmp_path, [], binary=require("3.5").binary, extra_jobs={"api": [target]},
                                 extra_job_options={"api": {"metric_relabel_configs": RULES}})  # fmt: skip
    try:
        prometheus.start()
        truth = wait_until(lambda: stored(prometheus.url), lambda got: len(got) == 4, what="the job scraped")
        settings = Settings(prometheus_url=prometheus.url, source="plan")  # type: ignore[call-arg]
        with build_auditor(settings, engine=engine) as auditor:
            auditor.run_cycle()
        for name, value in (("DATABASE_URL", engine.url.render_as_string(hide_password=False)),
                            ("PROMETHEUS_URL", prometheus.url), ("SOURCE", "plan")):  # fmt: skip
            monkeypatch.setenv(f"AUDITOR_{name}", value)
        code = main(["plan", "--exposition", f"http://{target}/metrics", "--job", "api", "--format", "json"])
        out, err = capsys.readouterr()
        assert code in (0, 1), err
        document = json.loads(out)
        assert main(["plan", "--exposition", f"http://{target}/metrics", "--job", "api", "--record"]) == 0
        assert "recorded for plan" in capsys.readouterr().out
        with build_auditor(settings, engine=engine) as auditor:
            auditor.run_cycle()  # the cycle after the deploy measures the recorded plan
        measured = {p.metric: (p.predicted_series, p.measured_series) for p in Store(engine).plans.all("plan")}
    finally:
        prometheus.stop()
        exporter.stop()
    assert code == 0
    assert document["targets"] == 1, "from the stored job census"
    assert {m["name"]: m["series_after"] for m in document["metrics"]} == truth
    assert truth["plan_sessions"] == 2, "user_id dropped: u1 and u2 (both eu) merged"
    [merged] = [c for c in document["collisions"] if c["series"]["__name__"] == "plan_sessions"]
    assert sorted(i["user_id"] for i in merged["inputs"]) == ["u1", "u2"]
    assert {m["name"]: m["new"] for m in document["metrics"]} == dict.fromkeys(truth, False), "in the stored census"
    assert document["notes"] == []
    assert {m["name"]: m["series_now"] for m in document["metrics"]} == truth, "the job's series now, asked"
    assert all(m["labels_new"] == [] for m in document["metrics"]), "the same output: no label is new"
    assert measured == {name: (n, n) for name, n in truth.items()}, "recorded, then measured equal"

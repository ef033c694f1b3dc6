"""Classic histograms on servers where the switch is not recommended (docs/histograms.md): 3.5 without native
histograms (it would store nothing), 2.42 and 2.53 (it needs Prometheus 3; there the printed bucket drop, pasted,
leaves exactly the predicted series) and VictoriaMetrics (unknown). The exporter and its readers are those of
test_histograms_live.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from auditor.cli.main import main
from auditor.demo.exporter import Exporter
from auditor.evaluate.histograms import drop_buckets_config
from auditor.store import Store
from auditor.store.histograms import HistogramReader
from tests.support.servers import require, wait_until
from tests.test_histograms_live import Live, assert_inventory_is_the_exporters, histograms, live

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
__all__ = ["live"]  # the fixture, shared


@pytest.mark.parametrize(("live", "database_url"), [(("3.5", False), "postgres")], indirect=True)
def test_on_3_5_without_native_histograms_no_switch_is_recommended_and_the_reason_says_why(
    live: Live, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = histograms(live, engine, monkeypatch, capsys)
    assert document["server"]["native_histograms"] is False
    assert live.exposition["metrics_auditor_histogram_switch_stores"][()] == 0
    assert_inventory_is_the_exporters(document, live)
    for entry in document["histograms"]:
        assert entry["switch"]["recommended"] is False
        assert entry["switch"]["config"] is None
        assert "--enable-feature=native-histograms" in entry["switch"]["reason"]
    actions = {f.action.value for f in Store(engine).fixes.all("hist")}
    assert "convert_histogram" not in actions, "a switch that would store nothing is never proposed"
    assert "drop_buckets" in actions


@pytest.mark.parametrize(
    ("live", "database_url"), [(("2.42", False), "sqlite"), (("2.53", False), "postgres")], indirect=True
)  # the store runs on both backends in the 3.5 test: here the servers vary
def test_on_prometheus_2_the_savings_are_reported_the_switch_needs_3_and_the_bucket_drop_leaves_the_prediction(
    live: Live, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    document = histograms(live, engine, monkeypatch, capsys)
    assert_inventory_is_the_exporters(document, live)
    assert document["server"]["switch"] is False
    assert all("needs Prometheus 3" in h["switch"]["reason"] for h in document["histograms"])
    [drop] = [f for f in Store(engine).fixes.all("hist") if f.action.value == "drop_buckets" and f.label == "demo"]
    assert (drop.metric, drop.series_before, drop.predicted_series) == ("req_seconds", 21, 18)
    assert main(["fixes", "--format", "json"]) == 0
    printed = next(f for f in json.loads(capsys.readouterr().out)["fixes"] if f["action"] == "drop_buckets")
    assert (printed["job"], printed["label"]) == ("demo", None)

    newest = HistogramReader(engine).newest("hist")
    assert newest is not None
    family = next(f for f in newest[1].families if f.metric == "req_seconds" and f.job == "demo")
    live.reload(yaml.safe_load(drop_buckets_config(family)))
    wait_until(lambda: live.count('req_seconds_bucket{job="demo"}'), lambda n: n == 12, what="the buckets dropped")
    assert live.count('{__name__=~"req_seconds_.*", job="demo"}') == 18 == drop.predicted_series
    assert live.count('req_seconds_bucket{le=~"0.5|0.50"}') == 0


def test_on_victoriametrics_the_inventory_is_measured_and_what_the_switch_stores_is_unknown(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exporter = Exporter()
    exporter.set_histogram("req_seconds", {"route": 3}, [0.1, 0.5, 1.0, 5.0], empty=(0.5,))
    exporter.start()
    vm = require("vm").local(tmp_path / "vm", [exporter.target])
    try:
        vm.start()
        wait_until(lambda: Live(vm, exporter, tmp_path).count("req_seconds_bucket"), lambda n: n == 15, what="ingested")
        for name, value in (("DATABASE_URL", sqlite_url), ("PROMETHEUS_URL", vm.url), ("SOURCE", "vm")):
            monkeypatch.setenv(f"AUDITOR_{name}", value)
        assert main(["db", "upgrade"]) == 0
        assert main(["audit"]) == 0
        capsys.readouterr()
        assert main(["histograms", "--format", "json"]) == 0
        document = json.loads(capsys.readouterr().out)
    finally:
        vm.stop()
        exporter.stop()
    assert document["server"]["native_histograms"] is None
    [entry] = document["histograms"]
    assert (entry["label_sets"], entry["buckets"], entry["series_now"], entry["empty_buckets"]) == (3, 5, 21, ["0.5"])
    assert entry["switch"]["recommended"] is False
    assert "VictoriaMetrics" in entry["switch"]["reason"]

"""Constructs of real-world rule files against what a real Prometheus (2.42, 2.53, 3.5) loads from them.

``for: 0s``, ``keep_firing_for``, one record name several times in a group, a group whose ``rules:`` is
null, one group name in two files of a directory, raw strings with backslashes: ``rules diff DIR live``
is 0 on every version, and a change of ``keep_firing_for`` in one of two same-named groups is reported
for that group's file only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from auditor.cli.main import main
from auditor.demo.prometheus import LocalPrometheus
from tests.support.servers import PROMETHEUS_VERSIONS, require, wait_until

pytestmark = pytest.mark.prometheus

API = """groups:
  - name: Embedded
    rules:
      - alert: ExporterDown
        expr: up{job="api"} == 0
        for: 0s
        keep_firing_for: 5m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} is down"}
      - record: cluster_quantile:latency:histogram_quantile
        expr: histogram_quantile(0.99, sum by (le) (rate(latency_bucket{le=~`1(\\.0)?|\\+Inf`}[5m])))
        labels: {quantile: "0.99"}
      - record: cluster_quantile:latency:histogram_quantile
        expr: histogram_quantile(0.5, sum by (le) (rate(latency_bucket[5m])))
        labels: {quantile: "0.5"}
"""
DB = """groups:
  - name: Embedded
    rules:
      - alert: ExporterDown
        expr: up{job="db"} == 0
        for: 0m
        labels: {severity: 5}
      - record: job:label:replaced
        expr: label_replace(up, "port", "$1", "instance", `.*:(\\d+)`)
  - name: Empty
    rules:
"""
FILES = {"api/embedded.yml": API, "db/embedded.yml": DB}


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("constructs") / "rules"
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


@pytest.fixture(scope="module", params=PROMETHEUS_VERSIONS)
def prometheus(
    request: pytest.FixtureRequest, rules_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPrometheus]:
    server = require(request.param)
    files = [rules_dir / name for name in FILES]
    with LocalPrometheus(tmp_path_factory.mktemp(f"constructs-{server.name}"), [], binary=server.binary,
                         rule_files=files) as prom:  # fmt: skip
        wait_until(lambda: _loaded(prom), lambda n: n == 5, what="the five rules loaded")
        yield prom


def _loaded(prom: LocalPrometheus) -> int:
    groups = httpx.get(f"{prom.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
    return sum(len(g["rules"]) for g in groups)


def _diff(monkeypatch: pytest.MonkeyPatch, prom: LocalPrometheus, old: str, new: str) -> int:
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prom.url)
    return main(["rules", "diff", old, new, "--format", "json"])


def test_the_directory_equals_live(
    prometheus: LocalPrometheus, rules_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _diff(monkeypatch, prometheus, str(rules_dir), "live") == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["added"], document["removed"], document["changed"], document["unchanged"]) == ([], [], [], 5)
    assert _diff(monkeypatch, prometheus, "live", str(rules_dir)) == 0


def test_a_keep_firing_for_change_in_one_of_two_same_named_groups(
    prometheus: LocalPrometheus,
    rules_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    changed = tmp_path / "rules"
    shutil.copytree(rules_dir, changed)
    (changed / "db/embedded.yml").write_text(DB.replace("for: 0m\n", "for: 0m\n        keep_firing_for: 15m\n"))
    assert _diff(monkeypatch, prometheus, "live", str(changed)) == 1
    document = json.loads(capsys.readouterr().out)
    [change] = document["changed"]
    assert change["changes"] == ["keep_firing_for"]
    assert (change["old"]["keep_firing_for"], change["new"]["keep_firing_for"]) == ("", "15m")
    assert change["old"]["file"].endswith("/db/embedded.yml")
    assert change["new"]["file"] == str(changed / "db/embedded.yml")
    assert (document["added"], document["removed"], document["unchanged"]) == ([], [], 4)


def test_series_estimates_of_one_record_name_per_label_set(
    prometheus: LocalPrometheus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.yml", tmp_path / "new.yml"
    old.write_text("groups:\n  - name: q\n    rules: []\n")
    new.write_text(
        "groups:\n  - name: q\n    rules:\n"
        "      - record: two:estimates\n        expr: vector(1)\n        labels: {quantile: '0.5'}\n"
        "      - record: two:estimates\n"
        "        expr: vector(1) or label_replace(vector(2), 'x', 'y', '', '')\n"
        "        labels: {quantile: '0.99'}\n"
    )
    assert main(["rules", "diff", str(old), str(new), "--prometheus", prometheus.url, "--format", "json"]) == 1
    added = json.loads(capsys.readouterr().out)["added"]
    assert sorted((e["labels"]["quantile"], e["series_estimate"]) for e in added) == [("0.5", 1), ("0.99", 2)]


def test_rules_commands_use_every_prometheus_setting(
    prometheus: LocalPrometheus, rules_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The client comes from the composition root: the response cap (and retries) hold for `rules` too."""
    monkeypatch.setenv("AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES", "1024")
    assert _diff(monkeypatch, prometheus, str(rules_dir), "live") == 3
    assert "/api/v1/rules" in capsys.readouterr().err

"""Rules against a real Prometheus (2.42, 2.53, 3.5) loaded with a rule file: diff against `live`, impact,
versions, drift, and stored versions that compare as the live one did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import DrilldownSettings, Settings
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store
from tests.support.servers import PROMETHEUS_VERSIONS, counted_by_server, require, wait_until

pytestmark = pytest.mark.prometheus

RULES = """groups:
  - name: sessions
    rules:
      - record: user:user_sessions:sum
        expr: sum(user_sessions) by (user_id)
      - record: job:user_sessions:count
        expr: count(user_sessions) by (job)
  - name: alerts
    rules:
      - alert: TooManySessions
        expr: job:user_sessions:count > 1000
        for: 5m
"""


@pytest.fixture(scope="module")
def rules_exporter() -> Iterator[Exporter]:
    exporter = Exporter()
    exporter.set("user_sessions", 12, label="user_id")
    exporter.start()
    yield exporter
    exporter.stop()


@pytest.fixture(scope="module")
def rule_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "sessions.yml"
    path.write_text(RULES)
    return path


@pytest.fixture(scope="module", params=PROMETHEUS_VERSIONS)
def ruled_prometheus(
    request: pytest.FixtureRequest,
    rules_exporter: Exporter,
    rule_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalPrometheus]:
    server = require(request.param)
    prom = LocalPrometheus(
        tmp_path_factory.mktemp(f"ruled-{server.name}"),
        [rules_exporter.target],
        binary=server.binary,
        evaluation_interval="2s",
        rule_files=[rule_file],
        extra_args=["--web.enable-lifecycle"],
    )
    prom.start()
    rules_exporter.wait_for_scrapes(2)
    yield prom
    prom.stop()


def reload(prometheus: LocalPrometheus, rule_file: Path, text: str) -> None:
    rule_file.write_text(text)
    httpx.post(f"{prometheus.url}/-/reload", timeout=10).raise_for_status()


def cli(monkeypatch: pytest.MonkeyPatch, prometheus: LocalPrometheus, *args: str) -> int:
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    return main(list(args))


def test_the_loaded_file_equals_live(
    ruled_prometheus: LocalPrometheus, rule_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    reload(ruled_prometheus, rule_file, RULES)
    desired = tmp_path / "desired.yml"
    desired.write_text(
        RULES.replace(
            "expr: sum(user_sessions) by (user_id)", "expr: |\n          sum by (user_id)(\n            user_sessions)"
        )
    )
    assert cli(monkeypatch, ruled_prometheus, "rules", "diff", str(rule_file), "live", "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["added"], document["removed"], document["changed"], document["unchanged"]) == ([], [], [], 3)
    assert cli(monkeypatch, ruled_prometheus, "rules", "diff", "live", str(desired)) == 0


def test_drift_and_series_estimate_against_the_real_count(
    ruled_prometheus: LocalPrometheus, rule_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    reload(ruled_prometheus, rule_file, RULES)
    wait_until(
        lambda: counted_by_server(ruled_prometheus.url),
        lambda counts: counts.get("user:user_sessions:sum") == 12,
        what="the recorded series",
    )
    desired = tmp_path / "desired.yml"
    desired.write_text(
        RULES.replace("sum(user_sessions) by (user_id)", "sum(user_sessions)")
        + "      - record: missing:input:sum\n        expr: sum(no_such_metric)\n"
    )
    args = ["rules", "diff", "live", str(desired), "--format", "json", "--prometheus", ruled_prometheus.url]
    assert cli(monkeypatch, ruled_prometheus, *args) == 1
    document = json.loads(capsys.readouterr().out)
    [changed] = document["changed"]
    assert (changed["record"], changed["changes"]) == ("user:user_sessions:sum", ["expr"])
    assert changed["series_current"] == 12, "the recorded metric has one series per user now"
    assert changed["series_estimate"] == 1, "sum(user_sessions) yields one series"
    assert changed["inputs"] == [{"metric": "user_sessions", "series": 12}]
    [added] = document["added"]
    assert (added["group"], added["record"], added["series_estimate"]) == ("alerts", "missing:input:sum", 0)
    assert added["warnings"] == ["input metric no_such_metric has no series on this Prometheus"]

    markdown = ["rules", "diff", "live", str(desired), "--format", "markdown", "--prometheus", ruled_prometheus.url]
    assert cli(monkeypatch, ruled_prometheus, *markdown) == 1
    text = capsys.readouterr().out
    assert "| **changed** | sessions | `user:user_sessions:sum` | expr | 12 | 1 |" in text
    monkeypatch.setenv("AUDITOR_RULES_DIR", str(desired))
    assert cli(monkeypatch, ruled_prometheus, "rules", "status", "--format", "json") == 1
    status = json.loads(capsys.readouterr().out)
    assert status["drift"] is True
    assert [m["record"] for m in status["missing"]] == ["missing:input:sum"]


def test_the_daemon_records_versions_and_exports_drift(
    ruled_prometheus: LocalPrometheus, rule_file: Path, tmp_path: Path, engine: Engine
) -> None:
    reload(ruled_prometheus, rule_file, RULES)
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "sessions.yml").write_text(RULES)
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=ruled_prometheus.url, source="rules", rules_dir=desired, drilldown=DrilldownSettings(top_n=0)
    )
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        first = auditor.stats.view().details
        auditor.run_cycle()
        reload(ruled_prometheus, rule_file, RULES.replace("by (job)", "by (instance)"))
        auditor.run_cycle()
        second = auditor.stats.view().details
    assert first is not None
    assert first.rules is not None
    assert first.rules.drift is not None
    assert first.rules.drift.same
    assert first.rules.loaded == {"record": 2, "alert": 1}
    assert second is not None
    assert second.rules is not None
    assert second.rules.drift is not None
    assert [c.new.name for c in second.rules.drift.changed] == ["job:user_sessions:count"]
    versions = Store(engine).rule_versions("rules")
    assert [v.rules for v in versions] == [3, 3]
    assert versions[0].fingerprint != versions[1].fingerprint
    assert versions[0].last_seen > versions[0].first_seen, "the unchanged second cycle extended version 1"
    stored = Store(engine).rule_version(versions[0].id)
    assert stored is not None
    assert stored[1].fingerprint() == versions[0].fingerprint


def test_a_stored_live_version_compares_with_its_file_as_live_did(
    ruled_prometheus: LocalPrometheus, rule_file: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """The file sets no group interval; Prometheus runs the groups at its global 2s and reports that."""
    reload(ruled_prometheus, rule_file, RULES)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AUDITOR_SOURCE", "stored")
    assert cli(monkeypatch, ruled_prometheus, "db", "upgrade") == 0
    assert cli(monkeypatch, ruled_prometheus, "audit") == 0
    capsys.readouterr()
    assert cli(monkeypatch, ruled_prometheus, "rules", "history", "--format", "json") == 0
    [version] = json.loads(capsys.readouterr().out)["versions"]

    assert cli(monkeypatch, ruled_prometheus, "rules", "diff", str(rule_file), "live", "--format", "json") == 0
    live = json.loads(capsys.readouterr().out)
    assert (
        cli(monkeypatch, ruled_prometheus, "rules", "diff", f"@{version['id']}", str(rule_file), "--format", "json")
        == 0
    )
    stored = json.loads(capsys.readouterr().out)
    keys = ("added", "removed", "changed", "unchanged")
    assert [stored[k] for k in keys] == [live[k] for k in keys] == [[], [], [], 3]
    assert cli(monkeypatch, ruled_prometheus, "rules", "diff", str(rule_file), f"@{version['id']}") == 0

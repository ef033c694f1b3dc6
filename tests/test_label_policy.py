"""Label policy and ``budgets init`` against a real Prometheus scraping an exporter whose shape the test controls.

The exporter's series are every combination of their labels' values, so the truth is arithmetic:
``api_requests_total`` with 4 routes and 25 user ids holds 100 series and keeps 4 without ``user_id``.
"""

from __future__ import annotations

import csv
import io
import json
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor, prometheus_client
from auditor.cli.main import main
from auditor.collect.census import Deadline
from auditor.collect.label_policy import LabelPolicyScan
from auditor.config.budgets import load_budgets
from auditor.config.settings import DrilldownSettings, LabelPolicySettings, Settings
from auditor.core.domain import LabelStats
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store
from tests.support.builders import CLOCK
from tests.support.builders import utc_now as system_clock

pytestmark = pytest.mark.prometheus

POLICY = """\
defaults:
  owner: platform
  max_series: 100000
  labels_denied: [user_id, email]
metrics:
  - name: pol_sessions
    owner: team-identity
    labels_allowed: [user_id]
  - match: "pol_http_.*"
    owner: team-web
    labels_allowed: [route, code]
"""


def shape(exporter: Exporter, metrics: dict[str, dict[str, int]]) -> None:
    for name in exporter.shape():
        exporter.remove(name)
    for name, labels in metrics.items():
        exporter.set(name, labels=labels)
    exporter.wait_for_scrapes(2)


def settings_for(prometheus: LocalPrometheus, budgets: Path, **extra: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        prometheus_url=prometheus.url, source="policy", budgets_file=budgets,
        drilldown=DrilldownSettings(top_n=0), **extra,
    )  # fmt: skip


def test_denied_and_unlisted_labels_are_violations_with_exact_values_and_the_series_left_without_them(
    prometheus: LocalPrometheus,
    exporter: Exporter,
    *,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shape(exporter, {
        "pol_api_requests_total": {"route": 4, "user_id": 25},    # denied by the defaults
        "pol_http_latency_seconds": {"route": 3, "code": 2, "pod": 5},   # pod: not in its allowed list
        "pol_http_ok_total": {"route": 3, "code": 2},              # every label allowed
        "pol_sessions": {"user_id": 7},                            # its entry allows the denied label
    })  # fmt: skip
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(POLICY)
    with build_auditor(settings_for(prometheus, budgets), engine=engine) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    policy = {(f.subject, f.detail, f.owner, f.value, f.series) for f in details.evaluation.violations}
    assert policy == {
        ("pol_api_requests_total", "user_id", "platform", 25, 100),
        ("pol_http_latency_seconds", "pod", "team-web", 5, 30),
    }
    assert details.policy_skipped == 0
    # Forbidden somewhere: user_id, route, code, pod (one query each); user_id and pod have violators (two more each).
    assert details.policy_queries == 8

    store = Store(engine)
    [snapshot] = store.snapshots("policy")
    stored = store.drilldown(snapshot.id)
    assert stored["pol_api_requests_total"]["user_id"].series_without == 4
    assert stored["pol_http_latency_seconds"]["pod"].series_without == 6

    monkeypatch.setenv("AUDITOR_DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(budgets))
    capsys.readouterr()
    assert main(["check", "--format", "json", "--source", "policy"]) == 1
    violations = json.loads(capsys.readouterr().out)["violations"]
    found = {v["metric"]: v for v in violations if v["kind"] == "label_policy"}
    assert set(found) == {"pol_api_requests_total", "pol_http_latency_seconds"}
    api = found["pol_api_requests_total"]
    assert (api["label"], api["owner"], api["value"], api["series"]) == ("user_id", "platform", 25, 100)
    fix = api["fix"]
    assert (fix["action"], fix["label"], fix["safe"], fix["predicted_series"]) == ("fix_at_source", "user_id", False, 4)
    assert (fix["proof"]["series_with"], fix["proof"]["series_without"]) == (100, 4), "96 series would merge"
    assert "config" not in fix
    latency = found["pol_http_latency_seconds"]["fix"]
    assert (latency["action"], latency["predicted_series"], "config" in latency) == ("fix_at_source", 6, False)
    assert datetime.fromisoformat(api["since"]) == snapshot.collected_at

    assert main(["check", "--source", "policy"]) == 1
    table = capsys.readouterr().out
    assert "label user_id (25 values) is not allowed by the label policy" in table
    assert "label pod (5 values) is not allowed by the label policy" in table

    since = (snapshot.collected_at - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
    assert main(["report", "--source", "policy", "--since", since, "--format", "json"]) == 0
    section = json.loads(capsys.readouterr().out)["label_policy"]
    assert [(r["owner"], r["metric"], r["label"], r["values"], r["series"], r["series_without"]) for r in section] == [
        ("platform", "pol_api_requests_total", "user_id", 25, 100, 4),
        ("team-web", "pol_http_latency_seconds", "pod", 5, 30, 6),
    ]
    assert main(["report", "--source", "policy", "--since", since, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "## Label policy" in markdown
    assert "| `pol_api_requests_total` | `user_id` | 25 | 100 | 4 |" in markdown
    assert main(["report", "--source", "policy", "--since", since, "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert "<h2>Label policy</h2>" in html
    assert '<td class="name"><code>pol_api_requests_total</code></td><td><code>user_id</code></td>' in html
    assert main(["report", "--source", "policy", "--since", since, "--format", "csv"]) == 0
    rows = {row["metric"]: row for row in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    latency = rows["pol_http_latency_seconds"]
    assert (latency["violations"], latency["labels_not_allowed"], latency["scope"]) == ("label_policy", "pod", "metric")


def test_the_scan_costs_a_few_queries_per_label_not_one_per_metric(
    prometheus: LocalPrometheus, exporter: Exporter, tmp_path: Path
) -> None:
    """1,000 metrics over 50 label names: the queries follow the labels the policy forbids, and a bound holds."""
    shape(exporter, {f"pol_many_{i:04d}": {f"lbl{i % 50:02d}": 2} for i in range(1000)})
    SERIES = {f"pol_many_{i:04d}": 2 for i in range(1000)}  # noqa: N806 - the census the scan is given
    budgets = tmp_path / "budgets.yml"
    budgets.write_text("defaults: {labels_allowed: [lbl00, id]}\n")
    at = system_clock()
    loaded = load_budgets(budgets, at.date())
    with ExitStack() as stack:
        client = prometheus_client(stack, Settings(prometheus_url=prometheus.url))  # type: ignore[call-arg]
        # Earlier tests' labels linger in the head: they are forbidden too, and carried by no live series.
        forbidden = sorted(set(client.label_names()) - {"__name__", "job", "instance", "lbl00", "id"})
        before = client.requests
        unbounded = LabelPolicyScan(client, LabelPolicySettings(max_queries=1000))
        result = unbounded.run(loaded, SERIES, at, Deadline.after(60, CLOCK.monotonic))
        requests = client.requests - before
        scan = LabelPolicyScan(client, LabelPolicySettings(max_queries=10))
        cycles = [scan.run(loaded, SERIES, at, Deadline.after(60, CLOCK.monotonic)) for _ in range(30)]
        an_hour_later = scan.run(loaded, SERIES, at + timedelta(hours=1), Deadline.after(60, CLOCK.monotonic))

    assert {f"lbl{i:02d}" for i in range(1, 50)} <= set(forbidden)
    assert sorted(result.checked) == forbidden
    assert result.skipped == []
    assert result.queries == len(forbidden) + 2 * 49, "one query per label, two more per label with violators"
    assert requests == 1 + result.queries, "and one /api/v1/labels"
    carriers = {m for m, labels in result.labels.items() if any(name.startswith("lbl") for name in labels)}
    assert len(carriers) == 980
    assert result.labels["pol_many_0001"]["lbl01"] == LabelStats(2, 1, 2), "2 series carry it, 1 without it"

    first, second, last = cycles[0], cycles[1], cycles[-1]
    assert all(cycle.queries <= 10 for cycle in cycles)
    assert first.skipped
    assert sorted(first.checked + first.skipped) == forbidden
    assert set(second.checked).isdisjoint(first.checked), "the next cycle starts with the labels skipped"
    assert set().union(*(cycle.checked for cycle in cycles)) == set(forbidden), "every label is seen in time"
    # Within the interval (1h) nothing is asked again, and every label keeps its last figures: no flapping.
    assert (last.queries, last.checked, sorted(last.carried)) == (0, [], forbidden)
    assert last.labels == result.labels
    # (asked an hour ahead, Prometheus has no samples yet: fewer queries, but the order is the point)
    assert an_hour_later.checked[: len(first.checked)] == first.checked, "scanned again once an interval old"
    assert an_hour_later.queries <= 10


def test_budgets_init_on_a_real_census_passes_budgets_check_and_check(
    prometheus: LocalPrometheus,
    exporter: Exporter,
    *,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shape(exporter, {
        "init_sessions": {"user_id": 120, "region": 3},
        "init_requests_total": {"path": 40, "method": 3},
        "init_small": {"kind": 2},
    })  # fmt: skip
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDITOR_SOURCE", "init")
    monkeypatch.setenv("AUDITOR_DRILLDOWN__TOP_N", "5")
    monkeypatch.delenv("AUDITOR_BUDGETS_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # no rules/budgets.yml here: the documented defaults only
    assert main(["db", "upgrade"]) == 0
    assert main(["audit", "--format", "json"]) == 0
    capsys.readouterr()

    assert main(["budgets", "init", "--top", "2", "--owner", "team-x"]) == 0
    text = capsys.readouterr().out
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(text)
    document = yaml.safe_load(text)
    entries = {e["name"]: e for e in document["metrics"]}
    assert list(entries) == ["init_sessions", "init_requests_total"]
    assert entries["init_sessions"] == {
        "name": "init_sessions", "owner": "team-x", "max_series": 440,       # 360 + 20 %
        "labels": {"user_id": {"max_values": 150}, "region": {"max_values": 4}},   # 144 -> 150, 3.6 -> 4
    }  # fmt: skip
    assert entries["init_requests_total"]["max_series"] == 150  # 120 + 20 %
    assert entries["init_requests_total"]["labels"] == {"path": {"max_values": 48}, "method": {"max_values": 4}}
    assert document["defaults"]["max_series"] == 10000
    assert "# labels_denied: [user_id]" in text
    assert "user_id: 120 values; carried by init_sessions (120)" in text
    assert "360 series" in text

    assert main(["budgets", "check", str(budgets)]) == 0
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(budgets))
    capsys.readouterr()
    assert main(["check", "--format", "json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["violations"] == []
    # Warnings about metrics none; the test's scrape job has no sample_limit, which is a job's warning.
    assert [w["kind"] for w in verdict["warnings"]] == ["unprotected_job"]


def test_budgets_init_needs_a_stored_census(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    assert main(["db", "upgrade"]) == 0
    assert main(["budgets", "init"]) == 2
    assert "no census is stored yet" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["budgets", "init", "--headroom", "-1"])
    assert exited.value.code == 2
    assert "'-1' is not a ratio between 0 and 10" in capsys.readouterr().err

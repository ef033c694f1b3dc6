"""End to end against a real Prometheus 2.42 scraping an exporter whose shape the test controls.

Counts are compared exactly with the ground truth: the exporter's series plus the five
series Prometheus writes per target.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import DrilldownSettings, Settings
from auditor.core.domain import CensusMethod, SeriesNotion
from auditor.core.remedies import Action
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.evaluate.remedies import Offender, decide
from auditor.store import Store
from tests.support.builders import census, ground_truth, save_census, utc_now

pytestmark = pytest.mark.prometheus


def reshape(exporter: Exporter, shape: dict[str, int]) -> None:
    for name in exporter.shape():
        exporter.remove(name)
    for name, series in shape.items():
        exporter.set(name, series)
    exporter.wait_for_scrapes(2)


def test_census_history_and_growth_match_the_ground_truth(
    prometheus: LocalPrometheus, exporter: Exporter, engine: Engine
) -> None:
    reshape(exporter, {"user_sessions": 37, "http_requests_total": 12, "tiny": 1})
    settings = Settings(prometheus_url=prometheus.url, source="it")  # type: ignore[call-arg]
    with build_auditor(settings, engine=engine) as auditor:
        first, first_truth = auditor.run_cycle(), ground_truth(exporter)
        exporter.set("user_sessions", 80)
        exporter.remove("tiny")
        exporter.wait_for_scrapes(2)
        second = auditor.run_cycle()

    assert first.metrics == first_truth
    assert first.method is CensusMethod.COUNT_BY_NAME
    assert first.notion is SeriesNotion.ACTIVE
    assert first.prometheus_version.startswith("2.42")
    store = Store(engine)
    newest, oldest = store.snapshots("it")
    assert store.metric_counts(oldest.id) == first_truth
    assert store.metric_counts(newest.id) == ground_truth(exporter)

    assert second.metrics == ground_truth(exporter)

    since = utc_now() - timedelta(hours=1)
    assert [p.series for p in store.history("it", "user_sessions", since)] == [37, 80]
    assert [p.series for p in store.history("it", "tiny", since)] == [1, 0]
    assert [p.series for p in store.history("it", "up", since)] == [1, 1]


def test_cli_audit_json_lists_every_metric_sorted(
    prometheus: LocalPrometheus,
    exporter: Exporter,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reshape(exporter, {f"cli_metric_{i}": i + 1 for i in range(30)})
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()

    assert main(["audit", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {"source", "collected_at", "head_series", "metrics"} <= set(document)
    assert document["source"] == prometheus.url.removeprefix("http://")
    truth = ground_truth(exporter)
    assert {m["name"]: m["series"] for m in document["metrics"]} == truth
    assert [m["series"] for m in document["metrics"]] == sorted(truth.values(), reverse=True)
    assert document["metrics"][0] == {"name": "cli_metric_29", "series": 30}

    assert main(["history", "cli_metric_7", "--format", "json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert history["metric"] == "cli_metric_7"
    assert [p["series"] for p in history["points"]] == [8]

    assert main(["audit", "--top", "3"]) == 0
    table = capsys.readouterr().out
    assert "cli_metric_29" in table
    assert "cli_metric_26" not in table
    assert f"and {len(truth) - 3} more metrics" in table


def test_budget_violation_drilldown_and_suggestion_against_real_prometheus(
    prometheus: LocalPrometheus, exporter: Exporter, engine: Engine, tmp_path: Path
) -> None:
    reshape(exporter, {"small": 3})
    # a fresh name: label values come from the head, where stale series of earlier tests linger until GC
    exporter.set("api_requests_total", labels={"path": 25, "method": 3, "code": 2})
    exporter.wait_for_scrapes(2)
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(
        "defaults: {owner: platform, max_series: 1000}\n"
        "metrics:\n"
        "  - name: api_requests_total\n"
        "    owner: team-web\n"
        "    max_series: 100\n"
        "    labels: {path: {max_values: 20}}\n"
    )
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=prometheus.url, source="drill", budgets_file=budgets, drilldown=DrilldownSettings(top_n=0)
    )
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    evaluation = details.evaluation
    assert {(f.subject, f.kind.value, f.severity.value) for f in evaluation.findings} == {
        ("api_requests_total", "series", "exceeded"),
        ("api_requests_total", "label", "exceeded"),
        ("demo", "unprotected_job", "warning"),  # the test's scrape job has no sample_limit
    }
    store = Store(engine)
    [snapshot] = store.snapshots("drill")
    drill = store.drilldown(snapshot.id)
    assert set(drill) == {"api_requests_total"}, "only the offender: top_n=0"
    labels = drill["api_requests_total"]
    assert {name: s.values for name, s in labels.items()} == {
        "path": 25,
        "method": 3,
        "code": 2,
        "instance": 1,
        "job": 1,
    }
    assert (labels["path"].series_without, labels["path"].series_with) == (6, 150)
    assert (labels["method"].series_without, labels["method"].series_with) == (50, 150)
    [series_violation] = [f for f in evaluation.violations if f.kind.value == "series"]
    fix = decide(Offender(series_violation.metric, series_violation.series, labels))
    assert (fix.action, fix.label, fix.safe, fix.config) == (Action.FIX_AT_SOURCE, "path", False, None)
    assert (fix.series_now, fix.predicted_series) == (150, 6), "what removing path at the source would leave"
    assert {(f.metric, f.kind) for f in store.open_findings("drill")} == {
        ("api_requests_total", "series"),
        ("api_requests_total", "label"),
        ("demo", "unprotected_job"),
    }


def test_report_from_real_cycles_shows_growth_new_vanished_and_violation(
    prometheus: LocalPrometheus, exporter: Exporter, engine: Engine, tmp_path: Path
) -> None:
    from auditor.app.reporting import gather
    from auditor.config.budgets import load_budgets
    from auditor.core.calendar import range_period
    from auditor.evaluate.report import build

    budgets = tmp_path / "budgets.yml"
    p = f"rpt_{engine.dialect.name}"  # fresh names per backend: label values come from the head, stale series too
    budgets.write_text(f"metrics:\n  - name: {p}_sessions\n    owner: team-identity\n    max_series: 50\n")
    reshape(exporter, {f"{p}_sessions": 30, f"{p}_vanishing": 5, f"{p}_steady": 4})
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=prometheus.url, source="report", budgets_file=budgets, drilldown=DrilldownSettings(top_n=5)
    )
    started = utc_now()
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        exporter.set(f"{p}_sessions", 90)
        exporter.remove(f"{p}_vanishing")
        exporter.set(f"{p}_new", 7)
        exporter.wait_for_scrapes(2)
        auditor.run_cycle()
        period = range_period(started - timedelta(seconds=1), utc_now())
        report = build(gather(Store(engine), settings, "report", period, budgets=load_budgets(budgets)))
    [growth] = [g for g in report.growth if g.metric == f"{p}_sessions"]
    assert (growth.series_start, growth.series_end) == (30, 90)
    assert growth.cause == "more values of `id`: 30 -> 90"
    assert [m.metric for m in report.new_metrics] == [f"{p}_new"]
    assert [m.metric for m in report.removed_metrics] == [f"{p}_vanishing"]
    [violation] = report.budget_violations
    assert (violation.metric, violation.owner, violation.series, violation.max_series) == (
        f"{p}_sessions", "team-identity", 90, 50,
    )  # fmt: skip
    assert report.summary.metrics_end == len(ground_truth(exporter))
    assert report.data_completeness.successful_cycles == 2


def test_cli_audit_takes_the_writer_lease_and_never_writes_while_a_daemon_holds_it(
    prometheus: LocalPrometheus,
    database_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from auditor.store.repository import Writer

    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDITOR_SOURCE", "leased")
    store = Store(engine)
    daemon = Writer("daemon-host:4242", timedelta(hours=1))
    save_census(store, census({"held": 1}, utc_now(), "leased"), "u", 0.1, writer=daemon)  # a daemon holds it
    capsys.readouterr()
    assert main(["audit"]) == 75
    out, err = capsys.readouterr()
    assert err.startswith("metrics-auditor: error: daemon-host:4242 writes this source (lease until ")
    assert "the census above is not stored" in err
    assert "leased at " in out, "the census it took is printed all the same"
    assert len(store.snapshots("leased")) == 1, "the audit stored nothing"
    store.release("leased", daemon)  # the daemon stopped cleanly
    assert main(["audit"]) == 0
    assert main(["audit"]) == 0, "each audit hands the lease back: the next one (another process) may write"
    assert len(store.snapshots("leased")) == 3

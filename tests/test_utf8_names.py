"""UTF-8 metric and label names end to end, on a real Prometheus 3.5 (which accepts them by default).

The exporter writes them in the text format's quoted form (``{"http.server.active_requests",
"url.scheme"="https"} 1``). Every PromQL the auditor writes must quote them, every regex must escape
them, a label name that is not a legacy name goes through the label-values API in its ``U__`` form,
and the fixes the auditor prints are loaded by that server's own rule and configuration loaders.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import CensusSettings, DrilldownSettings, Settings
from auditor.core.domain import SeriesNotion
from auditor.core.findings import Kind
from auditor.core.remedies import Action
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.evaluate.remedies import Offender, Readers, decide
from auditor.evaluate.usage import Status
from auditor.store import Store
from tests.support.servers import SERVERS, counted_by_server, require, truth, wait_until

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
DOTTED = "http.server.active_requests"
DECOY = "http_server_active_requests"
"""A legacy name that an unescaped regex for DOTTED would match too (``.`` matches ``_``)."""


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    exporter = Exporter()
    exporter.set(DOTTED, labels={"http.route": 30, "url.scheme": 2}, derived={"server.address": "url.scheme"})
    exporter.set(DECOY, labels={"http.route": 3}, derived={"server.address": "http.route"})
    exporter.set("legacy_total", labels={"my.label": 4})
    for i in range(40):  # more names than any list limit below: these are counted with quoted, escaped regexes
        exporter.set(f"svc.tail.{i:02d} (ms)", 1)
    exporter.start()
    yield exporter
    exporter.stop()


def start_35(workdir: Path, exporter: Exporter, **options: object) -> LocalPrometheus:
    running = require("3.5").local(workdir, [exporter.target], **options)
    assert isinstance(running, LocalPrometheus)
    running.start()
    return running


@pytest.fixture(scope="module")
def prometheus(exporter: Exporter, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrometheus]:
    running = start_35(tmp_path_factory.mktemp("utf8"), exporter)
    try:
        expected = truth(exporter, SERVERS["3.5"])
        wait_until(lambda: counted_by_server(running.url), lambda got: got == expected, what="3.5's count")
        yield running
    finally:
        running.stop()


def test_census_drilldown_and_counted_names_are_exact(
    prometheus: LocalPrometheus, exporter: Exporter, engine: Engine, tmp_path: Path
) -> None:
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(f'defaults: {{max_series: 1000}}\nmetrics:\n  - name: "{DOTTED}"\n    max_series: 10\n')
    expected = truth(exporter, SERVERS["3.5"])
    for limit in (1000, 2):  # 2 (and up to 31 more, by the clock): the list is full, the rest is counted
        settings = Settings(  # type: ignore[call-arg]
            prometheus_url=prometheus.url, source=f"utf8-{limit}", budgets_file=budgets,
            census=CensusSettings(tsdb_limit=limit), drilldown=DrilldownSettings(top_n=3),
        )  # fmt: skip
        with build_auditor(settings, engine=engine) as auditor:
            census = auditor.run_cycle()
        assert census.metrics == expected
        assert census.notion is (SeriesNotion.HEAD if limit == 1000 else SeriesNotion.MIXED)
    counted = set(census.metrics) - census.head_metrics
    assert len([name for name in counted if name.startswith("svc.tail.")]) >= 10, "UTF-8 names were counted"
    store = Store(engine)
    [snapshot] = store.snapshots("utf8-2")
    drill = store.drilldown(snapshot.id)
    assert {label: s.values for label, s in drill[DOTTED].items()} == {
        "http.route": 30,
        "server.address": 2,
        "url.scheme": 2,
        "instance": 1,
        "job": 1,
    }
    proofs = {label: (s.series_with, s.series_without) for label, s in drill[DOTTED].items() if s.series_with}
    # server.address follows url.scheme: without either, the other still tells the series apart
    assert proofs == {"http.route": (60, 2), "server.address": (60, 60), "url.scheme": (60, 60)}, (
        'count({"http.server.active_requests"}) beside count(count without ("http.route") (...)) per label'
    )
    assert {label: s.values for label, s in drill["legacy_total"].items()}["my.label"] == 4


def test_the_printed_fixes_load_in_prometheus_35_and_do_what_they_say(
    prometheus: LocalPrometheus, exporter: Exporter, tmp_path: Path
) -> None:
    from auditor.core.domain import LabelStats

    drill = {"http.route": LabelStats(30, 2, 60), "server.address": LabelStats(2, 60, 60),
             "url.scheme": LabelStats(2, 60, 60)}  # fmt: skip
    nobody = Readers(Status.USED, known=True, covered_seconds=30 * 86400)
    fix = decide(Offender(DOTTED, 60, drill), nobody)
    assert (fix.action, fix.label, fix.config) == (Action.FIX_AT_SOURCE, "http.route", None), "it makes series unique"
    safe = decide(Offender(DOTTED, 60, drill, label="server.address"), nobody)
    assert (safe.action, safe.safe, safe.predicted_series) == (Action.DROP_LABEL, True, 60)
    assert fix.recording_rule is not None
    assert safe.config is not None
    assert '{"http.server.active_requests"}' in fix.recording_rule
    rules = tmp_path / "fix.rules.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "fix", "rules": yaml.safe_load(fix.recording_rule)}]}))
    relabel = yaml.safe_load(safe.config)["metric_relabel_configs"]
    fixed = start_35(
        tmp_path / "fixed", exporter, evaluation_interval="1s", rule_files=[rules],
        job_options={"metric_relabel_configs": relabel},
    )  # fmt: skip
    try:
        [group] = wait_until(
            lambda: httpx.get(f"{fixed.url}/api/v1/rules").json()["data"]["groups"],
            lambda groups: bool(groups) and groups[0]["rules"][0].get("lastEvaluation", "").startswith("2"),
            what="the suggested rule evaluated",
        )
        [rule] = group["rules"]
        assert (rule["health"], rule["name"]) == ("ok", f"{DOTTED}:without_http.route:sum")
        counts = wait_until(lambda: counted_by_server(fixed.url), lambda got: rule["name"] in got, what="recorded")
        assert counts[rule["name"]] == 2, "one series per url.scheme"
        assert counts[DOTTED] == 60, "removing server.address merged nothing: every series is kept"
        values = httpx.get(f"{fixed.url}/api/v1/label/U__server_2e_address/values").json()["data"]
        kept = httpx.get(f"{fixed.url}/api/v1/label/U__server_2e_address/values", params={"match[]": DECOY}).json()[
            "data"
        ]
        assert kept == [f"server.address-{i:05d}" for i in range(3)], "the regex is escaped: the decoy keeps its label"
        assert set(values) == set(kept), f"{DOTTED} lost server.address"
    finally:
        fixed.stop()


def test_rules_diff_estimates_a_rule_over_a_utf8_metric(
    prometheus: LocalPrometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.yml", tmp_path / "new.yml"
    old.write_text("groups: []\n")
    new.write_text(
        "groups:\n  - name: g\n    rules:\n"
        "      - record: scheme:active:sum\n"
        '        expr: sum by ("url.scheme") ({"http.server.active_requests"})\n'
    )
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", prometheus.url)
    assert main(["rules", "diff", str(old), str(new), "--format", "json", "--prometheus", prometheus.url]) == 1
    [added] = json.loads(capsys.readouterr().out)["added"]
    assert added["series_estimate"] == 2
    assert added["inputs"] == [{"metric": DOTTED, "series": 60}]


def test_a_label_policy_over_utf8_names_is_scanned_with_quoted_names(
    prometheus: LocalPrometheus, engine: Engine, tmp_path: Path
) -> None:
    """Denying ``url.scheme`` and allowing only ``http.route`` on the dotted family: quoted in every query."""
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(
        'defaults: {max_series: 1000, labels_denied: ["url.scheme"]}\n'
        'metrics:\n  - match: "http[.]server[.].*"\n'
        '    labels_allowed: ["http.route", "url.scheme", "server.address"]\n'
        "  - name: legacy_total\n    labels_allowed: [other]\n"
    )
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=prometheus.url, source="utf8-policy", budgets_file=budgets, drilldown=DrilldownSettings(top_n=0)
    )
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    found = {(f.subject, f.detail, f.value) for f in details.evaluation.violations if f.kind is Kind.LABEL_POLICY}
    # The dotted family allows url.scheme by name; the decoy carries only http.route, which the defaults allow;
    # legacy_total's my.label is outside its list: found through quoted label names in every query.
    assert found == {("legacy_total", "my.label", 4)}
    [snapshot] = Store(engine).snapshots("utf8-policy")
    assert Store(engine).drilldown(snapshot.id)["legacy_total"]["my.label"].series_without == 1

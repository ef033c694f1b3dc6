"""The version matrix: census, history and drill-down on every server SREs run today, all real.

Prometheus 2.42 (Debian 12), 2.53 (trixie), 3.5 LTS (sid) and VictoriaMetrics (sid), each scraping an
exporter whose shape the test controls. Counts are compared exactly with the ground truth (the
exporter's series plus the series the server writes per target) and with the server's own
``count by (__name__)``. Shapes only grow here: a removed series stays in a head (and in
VictoriaMetrics' day) until its GC, which the other tests cover on 2.42.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.app.reporting import gather
from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.budgets import load_budgets
from auditor.config.settings import DrilldownSettings, Settings
from auditor.core.calendar import range_period
from auditor.core.domain import Census, CensusMethod, SeriesNotion, ServerKind
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.evaluate.report import build
from auditor.store import Store, make_engine, upgrade
from tests.support.builders import utc_now
from tests.support.servers import (
    LocalVictoriaMetrics,
    Server,
    counted_by_server,
    require,
    truth,
    wait_until,
)

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

EXPECTED = {
    "2.42": (CensusMethod.COUNT_BY_NAME, SeriesNotion.ACTIVE, ServerKind.PROMETHEUS),
    "2.53": (CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, ServerKind.PROMETHEUS),
    "3.5": (CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, ServerKind.PROMETHEUS),
    "vm": (CensusMethod.TSDB_STATUS, SeriesNotion.DAY, ServerKind.VICTORIAMETRICS),
}


@dataclass
class Served:
    server: Server
    running: LocalPrometheus | LocalVictoriaMetrics
    exporter: Exporter

    @property
    def url(self) -> str:
        return self.running.url

    def grow(self, shape: dict[str, dict[str, int]]) -> dict[str, int]:
        """Set these metrics (name -> label -> values) and wait until the server counts the new truth."""
        for name, labels in shape.items():
            self.exporter.set(name, labels=labels)
        expected = truth(self.exporter, self.server)
        wait_until(lambda: counted_by_server(self.url), lambda got: got == expected, what=f"{self.server.name} count")
        return expected


@pytest.fixture(scope="module", params=list(EXPECTED))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = require(request.param)
    exporter = Exporter()
    exporter.start()
    running = server.local(tmp_path_factory.mktemp(f"server-{server.name}"), [exporter.target])
    try:
        running.start()
        yield Served(server, running, exporter)
    finally:
        running.stop()
        exporter.stop()


def settings(served: Served, tmp_path: Path, budgets: str = "defaults: {max_series: 100000}\n") -> Settings:
    path = tmp_path / "budgets.yml"
    path.write_text(budgets)
    return Settings(  # type: ignore[call-arg]
        prometheus_url=served.url, source=f"matrix-{served.server.name}", budgets_file=path,
        drilldown=DrilldownSettings(top_n=0),
    )  # fmt: skip


def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'auditor.db'}")
    upgrade(engine)
    return engine


def test_census_equals_the_ground_truth_and_the_servers_own_count(served: Served, tmp_path: Path) -> None:
    expected = served.grow({"census_sessions": {"user_id": 37}, "census_requests": {"path": 4, "code": 3}})
    engine = sqlite_engine(tmp_path)
    with build_auditor(settings(served, tmp_path), engine=engine) as auditor:
        census = auditor.run_cycle()
    assert census.metrics == expected
    assert census.metrics == counted_by_server(served.url)
    assert (census.method, census.notion, census.server) == EXPECTED[served.server.name]
    assert not census.tsdb_truncated
    assert census.head.num_series == sum(expected.values())
    _, stored = Store(engine).latest_census(census.source) or (0, None)
    assert stored is not None
    assert (stored.metrics, stored.notion, stored.server) == (expected, census.notion, census.server)
    engine.dispose()


def test_history_after_growth_and_the_budget_check(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On SQLite: both backends store the same cycles (tests/test_store.py); this is about the servers."""
    name = "hist_sessions"
    engine = sqlite_engine(tmp_path)
    before = served.grow({name: {"user_id": 20}})
    budgets = f"defaults: {{max_series: 100000}}\nmetrics:\n  - name: {name}\n    owner: team-a\n    max_series: 30\n"
    config = settings(served, tmp_path, budgets)
    with build_auditor(config, engine=engine) as auditor:
        first = auditor.run_cycle()
        after = served.grow({name: {"user_id": 45}})
        second = auditor.run_cycle()
    # Seconds apart: on 2.45+ the second census would be Prometheus' 30 s cached answer, had it asked the same limit.
    assert (second.collected_at - first.collected_at).total_seconds() < 30
    assert (first.metrics, second.metrics) == (before, after)
    period = range_period(first.collected_at - timedelta(seconds=1), second.collected_at + timedelta(seconds=1))
    report = build(
        gather(Store(engine), config, config.source or "", period, budgets=load_budgets(tmp_path / "budgets.yml"))
    )
    [growth] = [g for g in report.growth if g.metric == name]
    assert (growth.series_start, growth.series_end) == (20, 45)
    store = Store(engine)
    since = utc_now() - timedelta(hours=1)
    assert [p.series for p in store.history(config.source or "", name, since)] == [20, 45]
    metric_findings = {
        (f.metric, f.kind) for f in store.open_findings(config.source or "") if f.kind != "unprotected_job"
    }
    assert metric_findings == {(name, "series")}  # (and the test job has no sample_limit: tests/test_jobs.py)

    monkeypatch.setenv("AUDITOR_DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(config.budgets_file))
    assert main(["check", "--format", "json", "--source", config.source or ""]) == 1
    [violation] = json.loads(capsys.readouterr().out)["violations"]
    assert (violation["metric"], violation["series"], violation["max_series"]) == (name, 45, 30)
    engine.dispose()


def test_drilldown_counts_the_values_of_every_label(served: Served, tmp_path: Path) -> None:
    served.grow({"drill_api": {"path": 25, "method": 3}})
    budgets = "defaults: {max_series: 100000}\nmetrics:\n  - name: drill_api\n    owner: team-web\n    max_series: 50\n"
    engine = sqlite_engine(tmp_path)
    with build_auditor(settings(served, tmp_path, budgets), engine=engine) as auditor:
        census: Census = auditor.run_cycle()
    store = Store(engine)
    [snapshot] = store.snapshots(census.source)
    labels = store.drilldown(snapshot.id)["drill_api"]
    assert {label: stats.values for label, stats in labels.items()} == {
        "path": 25,
        "method": 3,
        "instance": 1,
        "job": 1,
    }
    assert labels["path"].series_without == 3, "count(count without (path) (drill_api))"
    engine.dispose()


def test_label_policy_names_the_carriers_and_the_series_saved(served: Served, tmp_path: Path) -> None:
    # A label no other test of the module uses: every metric carrying it is this test's.
    served.grow({"policy_api": {"route": 4, "customer_id": 6}, "policy_ok": {"route": 2}})
    budgets = "defaults: {max_series: 100000, labels_denied: [customer_id]}\n"
    engine = sqlite_engine(tmp_path)
    with build_auditor(settings(served, tmp_path, budgets), engine=engine) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    found = [(f.subject, f.detail, f.value) for f in details.evaluation.violations if f.kind.value == "label_policy"]
    assert found == [("policy_api", "customer_id", 6)]
    [snapshot] = Store(engine).snapshots(f"matrix-{served.server.name}")
    assert Store(engine).drilldown(snapshot.id)["policy_api"]["customer_id"].series_without == 4
    assert details.policy_queries == 3
    engine.dispose()


def test_the_job_census_counts_the_demo_job_exactly(served: Served, tmp_path: Path) -> None:
    """One job (demo) with one target: its samples are the exporter's series, on every server."""
    served.grow({"jobs_matrix_total": {"path": 7}})
    config = settings(served, tmp_path).model_copy(update={"audit_interval": timedelta(seconds=30)})
    with build_auditor(config, engine=sqlite_engine(tmp_path)) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    assert details.jobs is not None
    [demo] = details.jobs.jobs.values()
    assert (demo.job, demo.targets) == ("demo", 1)
    assert demo.series == sum(served.exporter.shape().values())
    assert [t.instance for t in demo.largest_targets] == [served.exporter.target]
    # VictoriaMetrics serves its -promscrape.config there too: the limits are known on every server
    assert demo.sample_limit == 0, "read from status/config: none configured"


@pytest.mark.parametrize("served", ["vm"], indirect=True)
def test_victoriametrics_has_no_rules_and_that_is_said_once_never_as_drift(
    served: Served, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    desired = tmp_path / "desired.yml"
    desired.write_text(
        "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n"
    )
    config = settings(served, tmp_path).model_copy(update={"rules_dir": desired})
    caplog.set_level("INFO")
    with build_auditor(config, engine=sqlite_engine(tmp_path)) as auditor:
        for _ in range(2):
            auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    assert details.rules is None, "no rule versions, no drift"
    said = [r.getMessage() for r in caplog.records if "not available on this server" in r.getMessage()]
    assert len(said) == 1, said

    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", served.url)
    monkeypatch.setenv("AUDITOR_RULES_DIR", str(desired))
    assert main(["rules", "status"]) == 2
    assert main(["rules", "diff", str(desired), "live"]) == 2
    err = capsys.readouterr().err
    assert err.count("rules are not available on this server") == 2

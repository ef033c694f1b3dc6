"""Query usage from a real Prometheus' query log (2.42 and 3.5), on SQLite and Postgres.

The exporter has four metrics: ``read_by_api`` (queried through the HTTP API), ``read_by_rule`` (read by
a recording rule), ``read_by_dashboard`` (only a dashboard panel reads it) and ``never_read``. The
auditor's own cycle queries them all (census, drill-down): none of that may count as usage.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from auditor.app.usage import dashboards_of, usage_input
from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import Settings, UsageSettings
from auditor.core.budgets import default_budgets
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.evaluate.usage import Status, judge
from auditor.store import Store
from tests.support.servers import require, wait_until
from tests.test_jobs import samples, scrape

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

RULES = """\
groups:
  - name: usage
    interval: 1s
    rules:
      - record: job:read_by_rule:sum
        expr: sum(read_by_rule)
"""
DASHBOARD = {"title": "Edge", "panels": [{"targets": [{"expr": "sum(rate(read_by_dashboard[$__rate_interval]))"}]}]}


class Setup:
    def __init__(self, prometheus: LocalPrometheus, exporter: Exporter, log: Path, dashboards: Path) -> None:
        self.prometheus, self.exporter, self.log, self.dashboards = prometheus, exporter, log, dashboards
        self.rules = dashboards.parent / "rules.yml"

    def query(self, expr: str) -> None:
        response = httpx.post(f"{self.prometheus.url}/api/v1/query", data={"query": expr}, timeout=10)
        response.raise_for_status()

    def logged(self, text: str) -> int:
        """Lines of the whole log (rotated file included) that mention ``text``."""
        return sum(path.read_text().count(text) for path in self.log.parent.glob("query.log*"))


@pytest.fixture(params=["2.42", "3.5"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    exporter = Exporter()
    for name, series in (("read_by_api", 3), ("read_by_rule", 2), ("read_by_dashboard", 1), ("never_read", 5)):
        exporter.set(name, series)
    exporter.start()
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    log = tmp_path / "logs" / "query.log"
    log.parent.mkdir()
    dashboards = tmp_path / "dashboards"
    dashboards.mkdir()
    (dashboards / "edge.json").write_text(json.dumps(DASHBOARD))
    prometheus = LocalPrometheus(
        tmp_path / "prom", [exporter.target], binary=require(request.param).binary, rule_files=[rules],
        global_options={"query_log_file": str(log)},
    )  # fmt: skip
    (tmp_path / "prom").mkdir()
    try:
        prometheus.start()
        exporter.wait_for_scrapes(2)
        yield Setup(prometheus, exporter, log, dashboards)
    finally:
        prometheus.stop()
        exporter.stop()


def settings_for(setup: Setup, unused_after: timedelta = timedelta(days=7)) -> Settings:
    return Settings(  # type: ignore[call-arg]
        prometheus_url=setup.prometheus.url, source="usage", dashboards_dir=setup.dashboards, rules_dir=setup.rules,
        query_log_file=setup.log, usage=UsageSettings(unused_after=unused_after),
    )  # fmt: skip


def test_api_queries_and_rule_evaluations_are_credited_and_the_auditors_own_are_not(
    setup: Setup, engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        setup.query("sum(read_by_api)")
    setup.query('{__name__=~"read_by_a.*"}')
    wait_until(lambda: setup.logged("read_by_a"), lambda n: n >= 4, what="the API queries in the log")
    wait_until(lambda: setup.logged('"ruleGroup"'), lambda n: n >= 2, what="rule evaluations in the log")
    settings = settings_for(setup)
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()  # census and drill-down query every metric, tagged
        auditor.run_cycle()  # the first cycle's own queries are in the log now
        summary = auditor.stats.view().usage
        exposition = samples(scrape(auditor))
    store = Store(engine)
    state = store.usage.state("usage")
    assert state is not None
    assert summary is not None
    assert state.own_lines >= 2, f"the auditor's own queries are in the log, and skipped: {state}"
    assert state.failures == 0
    assert summary.lines == state.lines
    assert exposition["metrics_auditor_query_log_lines_total"] == {(): state.lines}
    assert exposition["metrics_auditor_query_log_own_lines_total"] == {(): state.own_lines}
    assert exposition["metrics_auditor_query_log_parse_failures_total"] == {(): 0}
    census = store.latest_census("usage")
    assert census is not None
    reads = store.usage.reads(
        "usage", state.covered_since.date() if state.covered_since else census[1].collected_at.date()
    )
    assert reads["read_by_api"].api == 4, "three queries and one regex, nothing from the auditor"
    assert reads["read_by_api"].rule == 0
    assert reads["read_by_rule"].api == 0
    assert reads["read_by_rule"].rule >= 2, "the recording rule's evaluations"
    assert "never_read" not in reads, "the auditor queried it, tagged: not usage"
    assert "read_by_dashboard" not in reads

    # Right now the log covers minutes of the 7-day window: nothing is called unused.
    charts = dashboards_of(settings)
    now_input = usage_input(store, settings, census[1], census[1].collected_at, rules=None, dashboards=charts)
    verdicts = {v.metric: v for v in judge(now_input, default_budgets())}
    assert {m: v.status for m, v in verdicts.items() if not m.startswith(("job:", "scrape_", "up"))} == {
        "read_by_api": Status.USED, "read_by_rule": Status.USED, "read_by_dashboard": Status.USED,
        "never_read": Status.UNKNOWN,
    }  # fmt: skip
    assert verdicts["read_by_dashboard"].readers == ("dashboard: Edge",)
    # Seven days on (the clock injected), with the log covering them: never_read is unused, the others not.
    later = state.covered_since + timedelta(days=7, minutes=1) if state.covered_since else None
    assert later is not None
    judged = {
        v.metric: v
        for v in judge(usage_input(store, settings, census[1], later, rules=None, dashboards=charts), default_budgets())
    }
    assert judged["never_read"].status is Status.UNUSED
    assert judged["never_read"].series == 5
    assert judged["read_by_api"].status is Status.USED
    assert judged["read_by_rule"].readers[0].startswith("rule: ")
    assert "rule file: usage/job:read_by_rule:sum" in judged["read_by_rule"].readers, "the desired rules read too"

    monkeypatch.setenv("AUDITOR_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("AUDITOR_SOURCE", "usage")
    monkeypatch.setenv("AUDITOR_DASHBOARDS_DIR", str(setup.dashboards))
    monkeypatch.setenv("AUDITOR_QUERY_LOG_FILE", str(setup.log))
    assert main(["usage", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in document["metrics"]}
    assert rows["read_by_api"]["api_queries"] == 4
    assert rows["read_by_api"]["last_queried"] is not None
    assert (rows["never_read"]["status"], rows["never_read"]["unused"]) == ("unknown", False)
    assert 0 < document["days_covered"] < 1
    assert main(["usage", "read_by_api"]) == 0
    assert "4 API queries, 0 rule evaluations" in capsys.readouterr().out


def test_rotation_between_reads_loses_nothing_and_counts_nothing_twice(setup: Setup, engine: Engine) -> None:
    settings = settings_for(setup)
    setup.query("sum(read_by_api)")
    wait_until(lambda: setup.logged("read_by_api"), lambda n: n >= 1, what="the first query in the log")
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        setup.query("count(read_by_api)")  # after the read, before the rotation
        wait_until(lambda: setup.logged("read_by_api"), lambda n: n >= 2, what="the second query in the log")
        setup.log.rename(setup.log.with_name("query.log.1"))
        assert setup.prometheus.process is not None
        os.kill(setup.prometheus.process.pid, signal.SIGHUP)  # Prometheus reopens its query log on reload
        wait_until(setup.log.exists, bool, what="the new query log")
        setup.query("max(read_by_api)")
        wait_until(lambda: setup.log.read_text().count("read_by_api"), lambda n: n >= 1, what="a query in the new log")
        auditor.run_cycle()
        auditor.run_cycle()
    state = Store(engine).usage.state("usage")
    assert state is not None
    assert state.covered_since is not None
    reads = Store(engine).usage.reads("usage", state.covered_since.date())
    assert reads["read_by_api"].api == 3, "one before the read, one in the rotated file's tail, one in the new file"
    assert state.position.inode == setup.log.stat().st_ino


def test_copytruncate_while_prometheus_writes_loses_nothing_and_counts_nothing_twice(
    setup: Setup, engine: Engine
) -> None:
    settings = settings_for(setup)
    for _ in range(3):  # past the first bytes that tell the file apart
        setup.query("sum(read_by_api)")
    wait_until(lambda: setup.logged("read_by_api"), lambda n: n >= 3, what="the first queries in the log")
    with build_auditor(settings, engine=engine) as auditor:
        auditor.run_cycle()
        setup.query("count(read_by_api)")  # after the read, before the copy
        wait_until(lambda: setup.logged("read_by_api"), lambda n: n >= 4, what="the fourth query in the log")
        setup.log.with_name("query.log.1").write_bytes(setup.log.read_bytes())
        with setup.log.open("r+") as f:
            f.truncate(0)  # Prometheus appends (O_APPEND): its next line starts the file again
        setup.query("max(read_by_api)")
        wait_until(lambda: setup.log.read_text().count("read_by_api"), lambda n: n >= 1, what="a query after it")
        auditor.run_cycle()
        auditor.run_cycle()
    store = Store(engine)
    state = store.usage.state("usage")
    assert state is not None
    assert state.covered_since is not None
    assert store.usage.reads("usage", state.covered_since.date())["read_by_api"].api == 5

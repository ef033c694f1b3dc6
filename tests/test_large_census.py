"""A census past every list cap, on the real servers: more than 10,000 metric names.

Prometheus 2.53 and 3.5 answer the TSDB status with at most ``limit`` names (3.9+ refuse a limit
above 10,000): the census takes the list (head series) and counts the other names (active series).
That census is ``mixed``; it must be exact, stored with the notion of every count, rolled up, read
back, reported and visible as such in ``audit --format json``. VictoriaMetrics caps its list at
``-search.maxTSDBStatusTopNSeries`` (1,000 by default): the rest comes from ``match[]`` requests.
Prometheus 2.42 counts every name in chunks: the same size on the oldest path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
from auditor.core.domain import SeriesNotion
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.evaluate.report import build
from auditor.store import Store
from auditor.store.compaction import Retention, compact
from tests.support.builders import CLOCK, utc_now
from tests.support.servers import (
    LocalVictoriaMetrics,
    Server,
    counted_by_server,
    require,
    truth,
    wait_until,
)

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]
NAMES = 10_500
METHOD = {
    "2.42": ("count_by_name", "active"),
    "2.53": ("tsdb_status+count", "mixed"),
    "3.5": ("tsdb_status+count", "mixed"),
    "vm": ("tsdb_status+match", "day"),
}


@pytest.fixture(scope="module", params=["2.42", "2.53", "3.5", "vm"])
def large(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, LocalPrometheus | LocalVictoriaMetrics, Exporter]]:
    server = require(request.param)
    exporter = Exporter()
    for i in range(NAMES):
        exporter.set(f"tail_metric_{i:05d}", 1 + i % 3)
    exporter.set("big_sessions", 300, label="user_id")
    exporter.start()
    running = server.local(tmp_path_factory.mktemp(f"large-{server.name}"), [exporter.target])
    try:
        running.start()
        expected = truth(exporter, server)
        wait_until(lambda: counted_by_server(running.url), lambda got: got == expected, 120, "the server's count")
        yield server, running, exporter
    finally:
        running.stop()
        exporter.stop()


def test_a_census_of_more_than_10000_names_is_exact_stored_rolled_up_and_reported(
    large: tuple[Server, LocalPrometheus | LocalVictoriaMetrics, Exporter], engine: Engine, tmp_path: Path
) -> None:
    server, running, exporter = large
    budgets = tmp_path / "budgets.yml"
    budgets.write_text("defaults: {max_series: 200}\n")
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=running.url, source=f"large-{server.name}", budgets_file=budgets,
        drilldown=DrilldownSettings(top_n=0, max_metrics=1),
    )  # fmt: skip
    started = utc_now()
    with build_auditor(settings, engine=engine) as auditor:
        census = auditor.run_cycle()
    expected = truth(exporter, server)
    assert len(expected) > 10_000
    assert census.metrics == expected
    assert (census.method.value, census.notion.value) == METHOD[server.name]
    assert census.tsdb_truncated is (server.name != "2.42"), "2.42: every name is counted, no list is cut"
    store = Store(engine)
    _, stored = store.latest_census(census.source) or (0, None)
    assert stored is not None
    assert stored.metrics == expected
    if census.notion is SeriesNotion.MIXED:
        assert "big_sessions" in census.head_metrics
        assert 100 <= len(census.head_metrics) < 1_000, "the list's names are head counts, the rest active"
        assert stored.head_metrics == census.head_metrics, "the notion of every count is stored"

    # the next hours come: the cycle is rolled up, its raw rows pruned, and it reads back the same
    later = census.collected_at + timedelta(hours=3)
    result = compact(
        store,
        later,
        Retention(raw=timedelta(hours=1), hour=timedelta(days=14), day=timedelta(days=400)),
        monotonic=CLOCK.monotonic,
    )
    assert result.raw_snapshots_pruned == 1
    _, rolled = store.latest_census(census.source) or (0, None)
    assert rolled is not None
    assert (rolled.metrics, rolled.head_metrics) == (expected, stored.head_metrics)

    period = range_period(started - timedelta(seconds=1), utc_now())
    report = build(gather(store, settings, census.source, period, budgets=load_budgets(budgets)))
    assert report.summary.metrics_end == len(expected)
    assert [v.metric for v in report.budget_violations] == ["big_sessions"]


def test_audit_json_shows_the_method_and_the_notion(
    large: tuple[Server, LocalPrometheus | LocalVictoriaMetrics, Exporter],
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, running, exporter = large
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", running.url)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AUDITOR_DRILLDOWN__TOP_N", "0")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["audit", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert {m["name"]: m["series"] for m in document["metrics"]} == truth(exporter, server)
    assert document["metrics"][0] == {"name": "big_sessions", "series": 300}
    assert (document["method"], document["notion"]) == METHOD[server.name]
    assert document["server"] == ("prometheus" if server.is_prometheus else "victoriametrics")
    if document["notion"] == "mixed":
        assert 100 <= document["head_metrics"] < 1_000

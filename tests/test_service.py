"""One audit cycle, wired as the daemon wires it, with a fake Prometheus (respx) and a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy import Engine, select

from auditor.app.cycle import Auditor
from auditor.app.wiring import build_auditor
from auditor.collect.source_name import derive_source
from auditor.config.settings import DrilldownSettings, JobsSettings, Settings
from auditor.core.errors import PrometheusHTTPError, PrometheusResponseError
from auditor.store import Store
from auditor.store.models import Source
from tests.support import fake
from tests.support.builders import ClockOf

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def settings(**overrides: object) -> Settings:
    """No drill-down nor job census unless a test asks: these tests prepare only the census requests."""
    overrides.setdefault("drilldown", DrilldownSettings(top_n=0))
    overrides.setdefault("jobs", JobsSettings(enabled=False))  # tests/test_jobs*.py
    overrides.setdefault("prometheus_url", fake.BASE)
    return Settings(**overrides)  # type: ignore[arg-type]


def test_cycle_stores_the_census_and_counts_success(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    router.get("/api/v1/status/config").respond(json=fake.config({"cluster": "eu1"}))
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 7, "b": 2}))
    router.get("/api/v1/rules").respond(json=fake.rules())
    auditor = build_auditor(settings(), transport=transport, engine=engine, clock=ClockOf(lambda: NOW))
    census = auditor.run_cycle()
    assert census.source == "cluster=eu1"
    store = Store(engine)
    [snapshot] = store.snapshots("cluster=eu1")
    assert store.metric_counts(snapshot.id) == {"a": 7, "b": 2}
    view = auditor.stats.view()
    assert (view.successes, view.failures, view.prometheus_up, view.last_success) == (1, {}, True, NOW)


def test_failed_cycle_is_counted_recorded_and_stores_no_census(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.42.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({}))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(["a", "b"]))
    router.post("/api/v1/query").respond(503, html="<html>Service Unavailable</html>")
    auditor = build_auditor(settings(source="prod"), transport=transport, engine=engine, clock=ClockOf(lambda: NOW))
    with pytest.raises(PrometheusHTTPError):
        auditor.run_cycle()
    [snapshot] = Store(engine).snapshots("prod")
    assert (snapshot.status, snapshot.metric_count) == ("failed", 0)
    assert Store(engine).history("prod", "a", NOW - timedelta(days=1)) == []
    view = auditor.stats.view()
    assert view.failures == {"http_error": 1}
    assert view.prometheus_up is False
    assert view.last_success is None


def test_truncated_json_stores_nothing_but_the_failure(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(content=b'{"status":"success","data":{"headSt')
    auditor = build_auditor(settings(source="prod"), transport=transport, engine=engine, clock=ClockOf(lambda: NOW))
    with pytest.raises(PrometheusResponseError):
        auditor.run_cycle()
    assert [s.status for s in Store(engine).snapshots("prod")] == ["failed"]
    assert auditor.stats.view().failures == {"bad_response": 1}


def test_readiness_needs_a_recent_success(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 1}))
    router.get("/api/v1/rules").respond(json=fake.rules())
    router.get("/api/v1/status/config").respond(json=fake.config())  # the interval stored with the rule version
    now = [NOW]
    auditor = build_auditor(settings(source="prod"), transport=transport, engine=engine, clock=ClockOf(lambda: now[0]))
    assert auditor.readiness() == (False, "no successful audit cycle yet")
    auditor.run_cycle()
    assert auditor.readiness()[0] is True
    now[0] = NOW + auditor.settings.stale_after + timedelta(seconds=1)
    ready, message = auditor.readiness()
    assert not ready
    assert "last successful cycle was" in message


def test_source_from_url_without_external_labels() -> None:
    assert derive_source({}, "http://prometheus-k8s.monitoring:9090") == "prometheus-k8s.monitoring:9090"
    assert derive_source({"replica": "b", "cluster": "x"}, "http://p:9090") == "cluster=x,replica=b"


def test_url_credentials_never_reach_the_source_name_or_the_store(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    router.get("/api/v1/status/config").respond(json=fake.config())
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 1}))
    router.get("/api/v1/rules").respond(json=fake.rules())
    secret_url = "http://auditor:hunter2@prometheus.test:9090"
    with build_auditor(settings(prometheus_url=secret_url), transport=transport, engine=engine) as auditor:
        census = auditor.run_cycle()
    assert census.source == "prometheus.test:9090"
    with engine.connect() as conn:
        [(url,)] = conn.execute(select(Source.url)).all()
    assert url == "http://prometheus.test:9090"


LIVE_GROUPS = [
    {
        "name": "g",
        "file": "/etc/prometheus/rules.yml",
        "interval": 60,
        "limit": 0,
        "rules": [
            {"name": "job:up:sum", "query": "sum by (job) (up)", "health": "ok", "type": "recording"},
            {
                "name": "job:bad:sum",
                "query": "sum by (job) (bad)",
                "health": "err",
                "lastError": "many-to-many",
                "type": "recording",
            },
        ],
    }
]


def test_cycle_records_rules_logs_failing_rules_once_and_measures_drift(
    router: respx.MockRouter,
    transport: httpx.MockTransport,
    engine: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    desired = tmp_path / "desired"
    desired.mkdir()
    (desired / "g.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum(up) by (job)\n"
    )
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"up": 3}))
    router.get("/api/v1/rules").respond(json=fake.rules(LIVE_GROUPS))
    router.get("/api/v1/status/config").respond(json=fake.config())
    with build_auditor(
        settings(source="prod", rules_dir=desired), transport=transport, engine=engine, clock=ClockOf(lambda: NOW)
    ) as auditor:
        auditor.run_cycle()
        auditor.run_cycle()
        details = auditor.stats.view().details
    assert details is not None
    assert details.rules is not None
    assert details.rules.unhealthy == 1
    assert details.rules.drift is not None
    assert [r.name for r in details.rules.drift.removed] == ["job:bad:sum"], "loaded but not desired: extra"
    assert details.rules.drift.unchanged == 1, "a group without interval equals the live one at the global 1m"
    failing = [r for r in caplog.records if "is failing in Prometheus" in r.getMessage()]
    assert len(failing) == 1
    assert "g/job:bad:sum" in failing[0].getMessage()
    assert "many-to-many" in failing[0].getMessage()
    [version] = Store(engine).rule_versions("prod")
    assert version.rules == 2


def test_a_rules_api_failure_costs_the_rules_not_the_census(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"up": 3}))
    router.get("/api/v1/rules").respond(500, text="boom")
    with build_auditor(
        settings(source="prod"), transport=transport, engine=engine, clock=ClockOf(lambda: NOW)
    ) as auditor:
        census = auditor.run_cycle()
        details = auditor.stats.view().details
    assert census.metrics == {"up": 3}
    assert details is not None
    assert details.rules is None
    assert Store(engine).rule_versions("prod") == []
    assert [s.status for s in Store(engine).snapshots("prod")] == ["ok"]


def test_a_budget_exception_ends_on_its_day_while_the_daemon_runs(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine, tmp_path: Path
) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"migration_rows": 900}))
    router.get("/api/v1/rules").respond(json=fake.rules())
    router.get("/api/v1/status/config").respond(json=fake.config())
    router.get("/api/v1/labels").respond(json={"status": "success", "data": ["__name__"]})  # the offender's drill
    budgets = tmp_path / "budgets.yml"
    until = NOW.date().isoformat()
    budgets.write_text(
        "metrics:\n  - name: migration_rows\n    max_series: 100\n"
        f"    exception: {{max_series: 1000, until: {until}, reason: backfill}}\n"
    )
    now = [NOW]
    settings_ = settings(source="prod", budgets_file=budgets)
    with build_auditor(settings_, transport=transport, engine=engine, clock=ClockOf(lambda: now[0])) as auditor:
        auditor.run_cycle()
        assert _violations(auditor) == [], "the exception holds on its last day"
        now[0] = NOW + timedelta(days=1)  # the file and the process stay the same: only the clock moves
        auditor.run_cycle()
        assert _violations(auditor) == [("migration_rows", 900, 100)]


def _violations(auditor: Auditor) -> list[tuple[str, int, int]]:
    details = auditor.stats.view().details
    assert details is not None
    return [(f.subject, f.series, f.max_series) for f in details.evaluation.violations]


def test_an_unreadable_credentials_file_is_a_configuration_error_not_an_outage(
    router: respx.MockRouter, engine: Engine, tmp_path: Path
) -> None:
    from auditor.config.settings import PrometheusSettings
    from auditor.core.errors import ConfigError

    token = tmp_path / "missing-token"
    token.write_text("secret")
    prom = PrometheusSettings(bearer_token_file=token, breaker_threshold=1)  # type: ignore[call-arg]
    token.unlink()  # a rotation gone wrong: the file was there at start, it is read on every request
    settings_ = settings(source="prod", prometheus=prom)
    transport = httpx.MockTransport(router.handler)  # no route: no request may leave without its token
    with (
        build_auditor(settings_, transport=transport, engine=engine, clock=ClockOf(lambda: NOW)) as auditor,
    ):
        with pytest.raises(ConfigError, match=f"credentials file: {tmp_path / 'missing-token'}: cannot read"):
            auditor.run_cycle()
        view = auditor.stats.view()
        outcome = (view.failures, view.prometheus_up, auditor.prometheus.retries, auditor.breaker.is_open)
        assert outcome == ({"config": 1}, None, 0, False)


def test_two_auditors_of_one_process_never_read_each_others_cached_tsdb_answer(
    router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine
) -> None:
    """Prometheus caches one TSDB-status answer per limit: a second auditor (a test's, a reload's) asking at the
    same instant asks with another limit, or it would read the first one's answer."""
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("3.5.3"))
    tsdb = router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 7}))
    router.get("/api/v1/rules").respond(json=fake.rules())
    router.get("/api/v1/status/config").respond(json=fake.config({}))
    for _ in range(2):
        build_auditor(
            settings(source="prod"), transport=transport, engine=engine, clock=ClockOf(lambda: NOW)
        ).run_cycle()
    first, second = (call.request.url.params["limit"] for call in tsdb.calls)
    assert first != second

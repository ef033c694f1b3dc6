"""Prometheus faults against real traffic: a fault-injecting proxy between the auditor and a real Prometheus.

Each test prepares the faults the proxy serves, in order, and fails if one was never served.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from auditor.app.cycle import Auditor
from auditor.app.wiring import build_auditor
from auditor.collect.breaker import Breaker
from auditor.config.settings import Settings
from auditor.core.domain import CensusMethod
from auditor.core.errors import PrometheusError, PrometheusResponseError, PrometheusTimeout
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.store import Store, make_engine, upgrade
from tests.support.builders import ground_truth
from tests.support.faultproxy import Fault, HttpFaultProxy, delay, garbage, in_front_of, reset, status, truncate

pytestmark = pytest.mark.prometheus


@pytest.fixture
def proxy(prometheus: LocalPrometheus, exporter: Exporter) -> Iterator[HttpFaultProxy]:
    exporter.wait_for_scrapes(2)
    with in_front_of(prometheus.url) as proxy:
        yield proxy
        unused = proxy.unused()
    assert not unused, f"faults prepared but never served: {unused}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def auditor_via(proxy: HttpFaultProxy, engine: Engine, **settings: object) -> Auditor:
    config = Settings(prometheus_url=proxy.url, source="faulty", **settings)  # type: ignore[arg-type]
    return build_auditor(config, engine=engine)


def stored(engine: Engine) -> list[str]:
    return [s.status for s in Store(engine).snapshots("faulty")]


def exposition(auditor: Auditor) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfMetricsCollector(auditor.stats, export=auditor.settings.export))
    text = generate_latest(registry).decode()
    return {
        sample.name + json.dumps(sample.labels, sort_keys=True): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_transient_faults_are_retried_and_the_census_is_exact(
    proxy: HttpFaultProxy, exporter: Exporter, sqlite_engine: Engine
) -> None:
    proxy.push(reset(), status(503, headers={"Retry-After": "1"}), delay(0.5), truncate(40), status(429))
    with auditor_via(proxy, sqlite_engine) as auditor:
        census = auditor.run_cycle()
        metrics = exposition(auditor)

    assert census.metrics == ground_truth(exporter)
    assert stored(sqlite_engine) == ["ok"]
    assert auditor.prometheus.retries == 4  # reset, 503, truncated answer, 429; the delay is only slow
    assert metrics["metrics_auditor_prometheus_request_retries_total{}"] == 4
    kinds = [kind for _, kind in proxy.served]
    assert kinds[:6] == ["reset", "status", "delay", "truncate", "status", "pass"]


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (garbage(), "bad_response"),
        (status(200, b'{"status": "success", "data": {"version": 7'), "bad_response"),
        (status(200, b'{"status":"success","data":' + b"[" * 50_000 + b"]" * 50_000 + b"}"), "bad_response"),
        (status(404, b"<html>not found</html>"), "http_error"),
    ],
    ids=["html-page", "truncated-json", "deeply-nested-json", "http-404"],
)
def test_bad_answers_fail_the_cycle_without_a_partial_snapshot(
    proxy: HttpFaultProxy, sqlite_engine: Engine, fault: Fault, reason: str
) -> None:
    with auditor_via(proxy, sqlite_engine) as auditor:
        auditor.run_cycle()
        proxy.push(fault)
        with pytest.raises(PrometheusError) as caught:
            auditor.run_cycle()

    assert caught.value.reason == reason
    assert auditor.prometheus.retries == 0  # a bad answer is not retried: asking again gives the same
    assert auditor.stats.view().failures == {reason: 1}
    assert stored(sqlite_engine) == ["failed", "ok"]  # the failure is recorded, no partial census


def test_a_server_slower_than_the_timeout_fails_after_its_attempts(
    proxy: HttpFaultProxy, sqlite_engine: Engine
) -> None:
    proxy.push(delay(1.5), delay(1.5))
    settings = {"prometheus": {"timeout": "500ms", "attempts": 2}}
    with auditor_via(proxy, sqlite_engine, **settings) as auditor, pytest.raises(PrometheusTimeout):
        auditor.run_cycle()

    assert auditor.prometheus.retries == 1
    assert auditor.stats.view().failures == {"timeout": 1}
    assert stored(sqlite_engine) == ["failed"]


def test_an_answer_over_the_size_cap_is_refused(proxy: HttpFaultProxy, sqlite_engine: Engine) -> None:
    runaway = {"status": "success", "data": {"version": "x" * 200_000}}
    proxy.push(status(200, json.dumps(runaway).encode(), {"Content-Type": "application/json"}))
    with (
        auditor_via(proxy, sqlite_engine, prometheus={"max_response_bytes": 65536}) as auditor,
        pytest.raises(PrometheusResponseError) as caught,
    ):
        auditor.run_cycle()

    assert caught.value.reason == "too_large"
    assert "AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES" in str(caught.value)


def test_a_server_that_changes_version_between_cycles(
    proxy: HttpFaultProxy, exporter: Exporter, sqlite_engine: Engine
) -> None:
    """2.42 becomes '2.53' (buildinfo only): the TSDB status ignores `limit`, the census sees it is cut and fills in."""
    buildinfo = {"status": "success", "data": {"version": "2.53.0", "revision": "r", "branch": "b",
                 "buildUser": "u", "buildDate": "d", "goVersion": "go1.22"}}  # fmt: skip
    with auditor_via(proxy, sqlite_engine) as auditor:
        before = auditor.run_cycle()
        proxy.push(status(200, json.dumps(buildinfo).encode(), {"Content-Type": "application/json"}))
        after = auditor.run_cycle()

    assert before.prometheus_version.startswith("2.42")
    assert after.prometheus_version == "2.53.0"
    assert after.method is not CensusMethod.COUNT_BY_NAME
    assert after.metrics == before.metrics == ground_truth(exporter)
    assert stored(sqlite_engine) == ["ok", "ok"]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_breaker_spaces_out_cycles_while_prometheus_is_down(
    proxy: HttpFaultProxy, exporter: Exporter, sqlite_engine: Engine
) -> None:
    clock = FakeMonotonic()
    with auditor_via(proxy, sqlite_engine, prometheus={"attempts": 1}) as auditor:
        auditor.breaker = Breaker(threshold=3, first_pause=300, max_pause=900, monotonic=clock)
        auditor.run_cycle()
        proxy.push(*[reset()] * 4)
        for _ in range(3):
            with pytest.raises(PrometheusError):
                auditor.scheduled_cycle()
        assert auditor.scheduled_cycle() is None  # open: skipped without a request
        assert exposition(auditor)["metrics_auditor_prometheus_circuit_open{}"] == 1
        clock.now += 301
        with pytest.raises(PrometheusError):
            auditor.scheduled_cycle()  # the trial fails: the pause doubles
        clock.now += 301
        assert auditor.scheduled_cycle() is None
        clock.now += 300
        census = auditor.scheduled_cycle()  # Prometheus is back: closed again
        metrics = exposition(auditor)

    assert census is not None
    assert census.metrics == ground_truth(exporter)
    assert [kind for _, kind in proxy.served].count("reset") == 4
    assert metrics['metrics_auditor_cycles_skipped_total{"reason": "circuit_open"}'] == 2
    assert metrics['metrics_auditor_cycle_failures_total{"reason": "unreachable"}'] == 4
    assert metrics["metrics_auditor_prometheus_circuit_open{}"] == 0
    assert stored(sqlite_engine).count("ok") == 2
    assert stored(sqlite_engine).count("failed") == 4


def test_retries_stop_at_the_cycle_deadline(proxy: HttpFaultProxy, sqlite_engine: Engine) -> None:
    proxy.push(status(503, headers={"Retry-After": "30"}))
    settings = {"audit_timeout": timedelta(seconds=2), "prometheus": {"attempts": 5}}
    with auditor_via(proxy, sqlite_engine, **settings) as auditor, pytest.raises(PrometheusError):
        auditor.run_cycle()

    assert auditor.stats.view().last_duration is not None
    assert auditor.stats.view().last_duration < 10  # Retry-After 30s was cut at the 2s deadline


def test_optional_endpoints_that_fail_skip_their_feature_and_never_the_census(
    proxy: HttpFaultProxy, exporter: Exporter, sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """404 on the configuration, 503 on the rules, 403 on the labels: three cycles stored, each failure logged once."""
    from auditor.config.settings import DrilldownSettings, PrometheusSettings

    desired = tmp_path / "desired.yml"
    desired.write_text(
        "groups:\n  - name: g\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n"
    )
    proxy.route("/api/v1/status/config", status(404, b"404 page not found"))
    proxy.route("/api/v1/rules", status(503, b"upstream unavailable"))
    proxy.route("/api/v1/labels", status(403, b"forbidden"))
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=proxy.url, rules_dir=desired, prometheus=PrometheusSettings(attempts=1),
        drilldown=DrilldownSettings(top_n=2),
    )  # fmt: skip
    caplog.set_level("INFO")
    with build_auditor(settings, engine=sqlite_engine) as auditor:
        censuses = [auditor.run_cycle() for _ in range(3)]
        view = auditor.stats.view()
        proxy.unroute()
        auditor.run_cycle()
        recovered = auditor.stats.view()
    source = proxy.url.removeprefix("http://")
    assert {c.source for c in censuses} == {source}, "named after the URL: the configuration is not served"
    assert all(c.metrics == ground_truth(exporter) for c in censuses)
    assert [s.status for s in Store(sqlite_engine).snapshots(source)] == ["ok"] * 4
    assert view.successes == 3
    assert view.failures == {}
    assert view.details is not None
    assert view.details.rules is None, "no rules this cycle: no drift reported either way"
    assert view.details.drilldown_skipped == 2
    # status/config: the source name once, then the job limits every cycle (the jobs are counted without them)
    assert view.io.endpoints.failures == {("status/config", "not_found"): 4, ("rules", "server_error"): 3,
                                          ("labels", "forbidden"): 6}  # fmt: skip
    assert view.details.jobs is not None
    assert view.details.jobs.config_known is False
    assert view.io.endpoints.up == {"status/config": False, "rules": False, "labels": False, "query": True}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert sorted(w.split(":")[0] for w in warnings) == ["labels", "rules", "status/config"], warnings
    assert recovered.io.endpoints.up == {
        "status/config": True, "rules": True, "labels": True, "label/values": True, "query": True,
    }  # fmt: skip
    assert recovered.details is not None
    assert recovered.details.rules is not None
    assert recovered.details.rules.drift is not None
    assert sum(1 for r in caplog.records if r.getMessage().endswith("answers again")) == 3

    registry = CollectorRegistry()
    registry.register(SelfMetricsCollector(auditor.stats, export=auditor.settings.export))
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    failures = {
        (s.labels["endpoint"], s.labels["reason"]): s.value
        for s in families["metrics_auditor_optional_request_failures"].samples
        if s.name.endswith("_total")
    }
    assert failures[("rules", "server_error")] == 3

"""Self-metrics are built fresh from the cycle stats on every scrape."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from auditor.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.export.http import HttpServer, make_app
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.stats import CycleStats
from tests.support.metrics import samples

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def scrape(stats: CycleStats) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfMetricsCollector(stats))
    return samples(generate_latest(registry).decode())


def census() -> Census:
    return Census(
        source="prod",
        collected_at=AT,
        prometheus_version="2.42.0",
        method=CensusMethod.COUNT_BY_NAME,
        notion=SeriesNotion.ACTIVE,
        head=HeadStats(1234, 1, 1, 0, 0),
        metrics={"a": 1000, "b": 200},
    )


def test_metrics_follow_each_cycle() -> None:
    stats = CycleStats()
    before = scrape(stats)
    assert "metrics_auditor_last_success_timestamp_seconds" not in before
    assert before['metrics_auditor_cycles_total{result="success"}'] == 0

    stats.record_success(census(), 0.25)
    stats.record_failure("timeout", 2.0, prometheus_up=False)
    stats.record_failure("timeout", 1.0, prometheus_up=False)
    after = scrape(stats)
    assert after["metrics_auditor_last_success_timestamp_seconds"] == AT.timestamp()
    assert after['metrics_auditor_cycles_total{result="success"}'] == 1
    assert after['metrics_auditor_cycles_total{result="failure"}'] == 2
    assert after['metrics_auditor_cycle_failures_total{reason="timeout"}'] == 2
    assert after["metrics_auditor_cycle_duration_seconds_total"] == 3.25
    assert after["metrics_auditor_last_cycle_duration_seconds"] == 1.0
    assert after["metrics_auditor_prometheus_up"] == 0
    assert after["metrics_auditor_head_series"] == 1234
    assert after["metrics_auditor_census_metrics"] == 2


def test_http_endpoints() -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfMetricsCollector(CycleStats()))
    server = HttpServer("127.0.0.1", 0, make_app(registry, lambda: (True, "ok"), lambda: (False, "not yet")))
    server.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(f"{base}/healthz").text == "ok\n"
        ready = httpx.get(f"{base}/readyz")
        assert (ready.status_code, ready.text) == (503, "not yet\n")
        metrics = httpx.get(f"{base}/metrics")
        assert metrics.status_code == 200
        assert "metrics_auditor_build_info" in metrics.text
        assert httpx.get(f"{base}/other").status_code == 404
    finally:
        server.stop()

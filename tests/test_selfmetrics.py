"""Self-metrics are built fresh from the cycle stats on every scrape."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from auditor.app.http import HttpServer, make_app
from auditor.app.stats import CycleStats
from auditor.config.budgets import load_budgets
from auditor.config.settings import ExportSettings
from auditor.core.domain import Census, HeadStats, LabelStats
from auditor.evaluate import EvaluationInput, evaluate
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.export.stats import CycleDetails
from tests.support import builders
from tests.support.builders import CLOCK
from tests.support.metrics import samples

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def scrape(stats: CycleStats) -> dict[str, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfMetricsCollector(stats, export=ExportSettings()))
    return samples(generate_latest(registry).decode())


def census() -> Census:
    return builders.census({"a": 1000, "b": 200}, AT, head=HeadStats(1234, 1, 1, 0, 0), label_stats={}, stale_names=0)


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
    registry.register(SelfMetricsCollector(CycleStats(), export=ExportSettings()))
    server = HttpServer(
        "127.0.0.1", 0, make_app(registry, lambda: (True, "ok"), lambda: (False, "not yet")), monotonic=CLOCK.monotonic
    )
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


def evaluated(metrics: dict[str, int], budgets_text: str, tmp_path: Path, **inputs: object) -> CycleDetails:
    path = tmp_path / "budgets.yml"
    path.write_text(budgets_text)
    base = census()
    inp = EvaluationInput(replace(base, metrics=metrics), load_budgets(path), **inputs)  # type: ignore[arg-type]
    return CycleDetails(evaluate(inp), drilldown_requests=7, drilldown_skipped=2)


def scrape_details(details: CycleDetails, export: ExportSettings | None = None) -> dict[str, float]:
    stats = CycleStats()
    stats.record_success(replace(census(), metrics={}), 0.1, details)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfMetricsCollector(stats, export=export or ExportSettings(), interval_seconds=300))
    return samples(generate_latest(registry).decode())


BUDGETS = """defaults: {owner: platform, max_series: 1000, max_growth: {7d: 0.2}, growth_min_series: 10}
metrics:
  - name: user_sessions
    owner: team-identity
    max_series: 400
    labels: {user_id: {max_values: 100}}
  - name: quiet
    owner: team-quiet
    max_series: 50
"""


def test_budget_metrics_carry_metric_and_owner(tmp_path: Path) -> None:
    trend = [(AT.timestamp() - 3600 * (23 - h), 100.0 + 10 * h) for h in range(24)]
    details = evaluated(
        {"user_sessions": 500, "quiet": 5, "grower": 300, "big": 900},
        BUDGETS,
        tmp_path,
        labels={"user_sessions": {"user_id": LabelStats(150)}},
        baselines={timedelta(days=7): {"grower": 100}},
        trends={"quiet": trend},
    )
    m = scrape_details(details)
    sessions = 'metric="user_sessions",owner="team-identity"'
    assert m[f"metrics_auditor_budget_exceeded{{{sessions}}}"] == 1
    assert m[f"metrics_auditor_metric_series{{{sessions}}}"] == 500
    assert m[f"metrics_auditor_budget_max_series{{{sessions}}}"] == 400
    assert m[f"metrics_auditor_budget_usage_ratio{{{sessions}}}"] == 1.25
    assert m['metrics_auditor_budget_warning{metric="big",owner="platform"}'] == 1
    assert m['metrics_auditor_growth_exceeded{metric="grower",owner="platform",window="1w"}'] == 1
    assert m['metrics_auditor_growth_ratio{metric="grower",owner="platform",window="1w"}'] == 2.0
    assert m['metrics_auditor_label_budget_exceeded{label="user_id",metric="user_sessions",owner="team-identity"}'] == 1
    assert m['metrics_auditor_owner_series{owner="platform"}'] == 1200
    assert m['metrics_auditor_owner_violations{owner="team-identity"}'] == 2
    assert m['metrics_auditor_owner_violations{owner="team-quiet"}'] == 0
    assert m['metrics_auditor_findings{kind="series",severity="exceeded"}'] == 1
    assert m["metrics_auditor_drilldown_skipped_metrics"] == 2
    assert m["metrics_auditor_audit_interval_seconds"] == 300
    assert m['metrics_auditor_budget_exhaustion_seconds{metric="quiet",owner="team-quiet"}'] == (50 - 5) / (10 / 3600)
    assert not any(k.startswith('metrics_auditor_budget_exhaustion_seconds{metric="user_sessions"') for k in m)


def test_exhaustion_is_exported_only_while_growing(tmp_path: Path) -> None:
    rising = [(AT.timestamp() - 3600 * (23 - h), 10.0 + h) for h in range(24)]
    details = evaluated({"quiet": 33}, BUDGETS, tmp_path, trends={"quiet": rising})
    m = scrape_details(details)
    assert m['metrics_auditor_budget_exhaustion_seconds{metric="quiet",owner="team-quiet"}'] == 17 * 3600


def test_per_metric_series_are_capped_whatever_the_census(tmp_path: Path) -> None:
    metrics = {f"m{i:05d}": 2000 + i for i in range(10_000)}
    details = evaluated(metrics, "defaults: {max_series: 100000}\n", tmp_path)
    m = scrape_details(details, ExportSettings(top_n=20, max_metrics=50))
    per_metric = [k for k in m if k.startswith("metrics_auditor_metric_series{")]
    assert len(per_metric) == 20
    assert 'metrics_auditor_metric_series{metric="m09999",owner="unowned"}' in m
    over = {f"m{i:05d}": 200 for i in range(10_000)}
    growing = {timedelta(days=7): dict.fromkeys(over, 100)}
    text = "defaults: {max_series: 100, max_growth: {7d: 0.2}, growth_min_series: 1}\n"
    capped = scrape_details(evaluated(over, text, tmp_path, baselines=growing), ExportSettings(max_metrics=50))
    assert len([k for k in capped if k.startswith("metrics_auditor_metric_series{")]) == 50
    assert len([k for k in capped if k.startswith("metrics_auditor_growth_exceeded{")]) == 50
    assert capped["metrics_auditor_export_dropped_metrics"] == 9_950
    assert capped['metrics_auditor_findings{kind="growth",severity="exceeded"}'] == 10_000

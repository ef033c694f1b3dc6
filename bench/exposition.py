"""Size of the auditor's /metrics for a 10,000-metric census: the auditor must not become a cardinality problem."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from auditor.app.stats import CycleStats
from auditor.config.budgets import BudgetsProvider
from auditor.config.settings import ExportSettings
from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.evaluate import EvaluationInput, evaluate
from auditor.export.selfmetrics import SelfMetricsCollector
from auditor.export.stats import CycleDetails
from bench.fake_prometheus import synthetic_metrics
from tests.support.builders import CLOCK

SCENARIOS = {
    "defaults only (a few over budget)": "defaults: {max_series: 10000, max_growth: {7d: 0.2}}\n",
    "100 budgeted metrics": "defaults: {max_series: 10000}\nmetrics:\n"
    + "".join(
        f"  - name: bench_metric_{i:05d}_total\n    owner: team-{i % 7}\n    max_series: 100000\n" for i in range(100)
    ),
    "every metric over budget (worst case)": "defaults: {max_series: 0}\n",
}


def measure(budgets_text: str, export: ExportSettings) -> dict[str, Any]:
    metrics = synthetic_metrics(10_000)
    now = datetime(2026, 11, 22, tzinfo=UTC)
    census = Census(
        "bench", now, "2.53.0", CensusMethod.TSDB_STATUS, SeriesNotion.HEAD, HeadStats(1, 1, 1, 0, 0), metrics
    )
    baselines = {timedelta(days=7): {name: max(1, n // 2) for name, n in list(metrics.items())[:500]}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "budgets.yml"
        path.write_text(budgets_text)
        provider = BudgetsProvider(path, CLOCK)
        budgets = provider.load()
        started = time.perf_counter()
        evaluation = evaluate(EvaluationInput(census, budgets, baselines=baselines))
        evaluate_s = time.perf_counter() - started
        stats = CycleStats()
        stats.record_success(census, 0.1, CycleDetails(evaluation))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SelfMetricsCollector(stats, provider, export=export, interval_seconds=300))
        started = time.perf_counter()
        body = generate_latest(registry)
        scrape_s = time.perf_counter() - started
    series = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    return {
        "findings": len(evaluation.findings),
        "series": len(series),
        "bytes": len(body),
        "evaluate_s": evaluate_s,
        "scrape_s": scrape_s,
    }


def run() -> dict[str, Any]:
    export = ExportSettings()
    return {name: measure(text, export) for name, text in SCENARIOS.items()}

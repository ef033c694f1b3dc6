#!/usr/bin/env python3
"""Build the Grafana dashboard from the panel list below.

    scripts/dashboard.py --write     # deploy/grafana/metrics-auditor.json

Every query reads only metrics the auditor exports (tests/test_dashboard.py checks it against a
running auditor). `$instance` picks the auditor (one per audited Prometheus).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "deploy/grafana/metrics-auditor.json"
SEL = '{instance=~"$instance"}'


def _job(metric: str) -> str:
    """The audited job's name: ``exported_job`` when Prometheus renamed the auditor's ``job`` label."""
    return f'label_replace({metric}{SEL}, "job", "$1", "exported_job", "(.+)")'


WIDTH = 24

# (row title, [(panel title, type, unit, [(expr, legend)], width, description)])
ROWS: list[tuple[str, list[tuple[str, str, str, list[tuple[str, str]], int, str]]]] = [
    (
        "Budgets by owner",
        [
            (
                "Series by owner",
                "timeseries",
                "short",
                [(f"sum by (owner) (metrics_auditor_owner_series{SEL})", "{{owner}}")],
                12,
                "Series of every metric an owner's budgets cover.",
            ),
            (
                "Violations by owner",
                "bargauge",
                "short",
                [(f"sum by (owner) (metrics_auditor_owner_violations{SEL})", "{{owner}}")],
                6,
                "Budget, growth and label violations in the last cycle.",
            ),
            (
                "Budget usage (top 20)",
                "table",
                "percentunit",
                [(f"topk(20, metrics_auditor_budget_usage_ratio{SEL})", "{{metric}} ({{owner}})")],
                6,
                "Series over budget, per metric: 1 is the budget.",
            ),
        ],
    ),
    (
        "Top metrics",
        [
            (
                "Largest metrics",
                "timeseries",
                "short",
                [(f"topk(10, metrics_auditor_metric_series{SEL})", "{{metric}}")],
                12,
                "Series per metric name, the ten largest, and their trend.",
            ),
            (
                "Time until the budget is reached",
                "table",
                "s",
                [(f"bottomk(10, metrics_auditor_budget_exhaustion_seconds{SEL})", "{{metric}} ({{owner}})")],
                6,
                "Forecast from the hourly trend; absent for metrics that are not growing.",
            ),
            (
                "Head series of the audited Prometheus",
                "stat",
                "short",
                [(f"metrics_auditor_head_series{SEL}", "head series")],
                6,
                "What Prometheus' memory pays for.",
            ),
        ],
    ),
    (
        "Violations over time",
        [
            (
                "Violations",
                "timeseries",
                "short",
                [
                    (f"sum(metrics_auditor_budget_exceeded{SEL})", "over budget"),
                    (f"sum(metrics_auditor_budget_warning{SEL})", "past the warning ratio"),
                    (f"sum(metrics_auditor_growth_exceeded{SEL})", "growing too fast"),
                    (f"sum(metrics_auditor_label_budget_exceeded{SEL})", "label over its limit"),
                ],
                16,
                "Metrics in each kind of violation, cycle by cycle.",
            ),
            (
                "Recording rules drift",
                "stat",
                "short",
                [
                    (f"metrics_auditor_rules_missing{SEL}", "missing"),
                    (f"metrics_auditor_rules_extra{SEL}", "extra"),
                    (f"metrics_auditor_rules_changed{SEL}", "changed"),
                ],
                8,
                "Desired recording rules (AUDITOR_RULES_DIR) against the loaded ones.",
            ),
        ],
    ),
    (
        "Scrape jobs",
        [
            (
                "Largest jobs",
                "timeseries",
                "short",
                [(f"topk(10, sum by (job) ({_job('metrics_auditor_job_series')}))", "{{job}}")],
                6,
                "Samples the targets of each job keep per scrape, summed: the series each job sends.",
            ),
            (
                "Churn by job",
                "timeseries",
                "short",
                [(f"topk(10, sum by (job) ({_job('metrics_auditor_job_series_added')}))", "{{job}}")],
                6,
                "Series the job's targets created over the last audit interval.",
            ),
            (
                "Sample limit usage",
                "table",
                "percentunit",
                [(f"topk(10, {_job('metrics_auditor_job_sample_limit_usage_ratio')})", "{{job}} ({{owner}})")],
                6,
                "The largest target of each job over its sample_limit; past 1, Prometheus fails the scrape.",
            ),
            (
                "Time to sample_limit",
                "table",
                "s",
                [
                    (
                        f"bottomk(10, {_job('metrics_auditor_job_sample_limit_exhaustion_seconds')})",
                        "{{job}} ({{owner}})",
                    )
                ],
                6,
                "Forecast time until the largest target of each rising job reaches its sample_limit.",
            ),
        ],
    ),
    (
        "Auditor health",
        [
            (
                "Since the last successful cycle",
                "stat",
                "s",
                [(f"time() - metrics_auditor_last_success_timestamp_seconds{SEL}", "age")],
                6,
                "Alert MetricsAuditorAuditStale fires past three intervals.",
            ),
            (
                "Cycle duration",
                "timeseries",
                "s",
                [
                    (f"metrics_auditor_last_cycle_duration_seconds{SEL}", "last cycle"),
                    (f"metrics_auditor_audit_interval_seconds{SEL}", "interval"),
                ],
                6,
                "A cycle that takes most of the interval needs a longer one.",
            ),
            (
                "Failures by reason",
                "timeseries",
                "short",
                [
                    (
                        f"sum by (reason) (increase(metrics_auditor_cycle_failures_total{SEL}[$__rate_interval]))",
                        "{{reason}}",
                    )
                ],
                6,
                "docs/operations.md lists the reasons.",
            ),
            (
                "Prometheus and database",
                "stat",
                "short",
                [
                    (f"metrics_auditor_prometheus_up{SEL}", "prometheus up"),
                    (f"metrics_auditor_database_up{SEL}", "database up"),
                    (f"metrics_auditor_prometheus_circuit_open{SEL}", "circuit open"),
                    (f"metrics_auditor_spool_cycles{SEL}", "cycles spooled"),
                    (f"metrics_auditor_standby{SEL}", "standby"),
                ],
                6,
                "Reachability, the circuit breaker, the spool, the writer role.",
            ),
        ],
    ),
]


def panel(pid: int, x: int, y: int, spec: tuple[str, str, str, list[tuple[str, str]], int, str]) -> dict[str, Any]:
    title, kind, unit, queries, width, description = spec
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"x": x, "y": y, "w": width, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "instant": kind in {"table", "bargauge"}}
            for i, (expr, legend) in enumerate(queries)
        ],
    }


def panels() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    y, pid = 0, 1
    for title, specs in ROWS:
        out.append(
            {
                "id": pid,
                "type": "row",
                "title": title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": WIDTH, "h": 1},
                "panels": [],
            }
        )
        pid, y, x = pid + 1, y + 1, 0
        for spec in specs:
            out.append(panel(pid, x, y, spec))
            pid, x = pid + 1, x + spec[4]
        y += 8
    return out


def dashboard() -> dict[str, Any]:
    return {
        "uid": "metrics-auditor",
        "title": "metrics-auditor: cardinality budgets",
        "description": "Budget usage by owner, top metrics, violations and the auditor's health (deploy/grafana).",
        "tags": ["prometheus", "cardinality", "metrics-auditor"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-7d", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "label": "Prometheus"},
                {
                    "name": "instance",
                    "type": "query",
                    "label": "Auditor",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(metrics_auditor_build_info, instance)",
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                },
            ]
        },
        "panels": panels(),
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(render())
    else:
        sys.stdout.write(render())

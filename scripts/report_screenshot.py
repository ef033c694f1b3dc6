"""Regenerate docs/images/report.png: a week of synthetic history, the HTML report, headless Chromium.

.venv/bin/python scripts/report_screenshot.py [--keep FILE]     # --keep: leave the SQLite history in FILE
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from auditor.config.budgets import load_budgets
from auditor.core.domain import Census, CensusMethod, Finding, HeadStats, Kind, LabelStats, SeriesNotion, Severity
from auditor.core.usage import LogPosition, QueryKind, UsageBatch
from auditor.evaluate.report import build
from auditor.export.report_render import render
from auditor.app.reporting import gather, week_period
from auditor.config.rulefiles import load_path
from auditor.config.settings import Settings
from auditor.store import Store, make_engine, upgrade

ROOT = Path(__file__).resolve().parent.parent
WEEK = week_period("2026-W47", "UTC")


def shape(hour: int) -> dict[str, int]:
    day = hour / 24
    metrics = {
        "http_request_duration_seconds_bucket": int(2400 + 600 * min(day, 4) / 4),
        "user_sessions": int(120 + 60 * day + 10 * math.sin(hour / 3)),
        "node_cpu_seconds_total": int(640 + 600 * day),  # new nodes every day: reaches its budget next month
        "kube_pod_container_status_restarts_total": 380 + (40 if day > 3 else 0),
        "grpc_server_handled_total": 900,
        "process_open_fds": 12,
    }
    if day < 2:
        metrics["legacy_queue_depth"] = 45
    if day > 4.5:
        metrics["checkout_cart_items"] = 210
    return metrics


def main() -> None:
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{keep or f'{tmp}/demo.db'}")
        upgrade(engine)
        store = Store(engine)
        budgets_file = ROOT / "rules" / "budgets.yml"
        rules = load_path(ROOT / "rules" / "recording")
        # The same week a quarter earlier (smaller), and a violation resolved then back since: the quarter section.
        earlier = WEEK.start - timedelta(weeks=13)
        regressed = Finding("kube_pod_container_status_restarts_total", "platform-observability", Kind.SERIES,
                            Severity.EXCEEDED, 420, 400, 420, 400)  # fmt: skip
        for week, findings in ((0, [regressed]), (3, []), (9, [regressed])):
            at = earlier + timedelta(weeks=week, days=3)
            quarter_ago = {k: int(v * 0.7) for k, v in shape(24).items()}
            store.save_census(Census("prod-eu1", at, "2.53.0", CensusMethod.TSDB_STATUS, SeriesNotion.HEAD,
                                     HeadStats(sum(quarter_ago.values()), 0, 0, 0, 0), quarter_ago),
                              "http://prometheus:9090", 0.3, findings=findings)  # fmt: skip
        for hour in range(0, 7 * 24, 2):
            at = WEEK.start + timedelta(hours=hour, minutes=5)
            metrics = shape(hour)
            if hour in (60, 62):  # Prometheus was unreachable for these cycles
                store.save_failure(
                    "prod-eu1", "http://prometheus:9090", at, reason="unreachable", message="", duration=5
                )
                continue
            census = Census("prod-eu1", at, "2.53.0", CensusMethod.TSDB_STATUS, SeriesNotion.HEAD,
                            HeadStats(sum(metrics.values()), 0, 0, 0, 0), metrics)  # fmt: skip
            users = metrics["user_sessions"]
            drill = {"user_sessions": {"user_id": LabelStats(users, 1), "instance": LabelStats(1)}}
            buckets = metrics["http_request_duration_seconds_bucket"]
            findings = [
                Finding("user_sessions", "team-identity", Kind.SERIES, Severity.EXCEEDED, users, 400, users, 400)
            ]
            findings = findings if users > 400 else []
            findings.append(regressed)
            if buckets > 2000:
                findings.append(Finding("http_request_duration_seconds_bucket", "team-web", Kind.SERIES,
                                        Severity.EXCEEDED, buckets, 2000, buckets, 2000))  # fmt: skip
            store.save_census(census, "http://prometheus:9090", 0.3, drilldown=drill, rules=rules,
                              findings=findings)  # fmt: skip
        # Forty days of query log: dashboards read two metrics, rules one; the others are unused.
        usage = UsageBatch(position=LogPosition("/var/log/prometheus/query.log", 1, 2, 1 << 20, ""))
        for metric, kind in (("http_request_duration_seconds_bucket", QueryKind.API), ("user_sessions", QueryKind.API),
                             ("node_cpu_seconds_total", QueryKind.RULE)):  # fmt: skip
            usage.credit(frozenset({metric}), kind, WEEK.end - timedelta(days=1))
        usage.credit(frozenset({"grpc_server_handled_total"}), QueryKind.API, WEEK.end - timedelta(days=52))
        usage.earliest = WEEK.end - timedelta(days=60)
        store.usage.record("prod-eu1", "http://prometheus:9090", usage, WEEK.end)
        settings = Settings(  # type: ignore[call-arg]
            source="prod-eu1", budgets_file=budgets_file, audit_interval=timedelta(hours=2), cost_per_series_month=0.02
        )
        report = build(gather(store, settings, "prod-eu1", WEEK, budgets=load_budgets(budgets_file)))
        page = Path(tmp) / "report.html"
        page.write_text(render(report, "html"))
        chromium = shutil.which("chromium") or "chromium"
        out = ROOT / "docs" / "images" / "report.png"
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp}/profile", "--hide-scrollbars",
             "--window-size=1150,3300", f"--screenshot={out}", page.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip
        print(f"written {out}")


if __name__ == "__main__":
    main()

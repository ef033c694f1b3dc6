"""Check ``growth`` on the fixed input: growth over the window's hourly maximum, above growth_min_series only."""

from __future__ import annotations

from datetime import timedelta

from auditor.core.findings import GrowthFinding
from auditor.evaluate.checks import growth
from tests.checks.conftest import Snapshot, reported


def test_growth_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, growth, GrowthFinding)
    assert set(found) == {("http_requests_total", ""), ("node_cpu_seconds_total", "")}, (
        "quiet_metric tripled under growth_min_series; http_errors_total's +30 % is under its entry's 50 %"
    )
    assert found["http_requests_total", ""].window == timedelta(days=1)

"""Check ``series`` on the fixed input: over its budget is exceeded, from warn_ratio on a warning, a zero
budget allows none."""

from __future__ import annotations

from auditor.core.findings import SeriesFinding, Severity
from auditor.evaluate.checks import series
from tests.checks.conftest import Snapshot, reported


def test_series_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, series, SeriesFinding)
    assert set(found) == {
        ("user_sessions", ""),
        ("http_requests_total", ""),
        ("node_cpu_seconds_total", ""),
        ("billing_events_total", ""),
    }, "http_errors_total at 78 % stays under warn_ratio"
    assert found["billing_events_total", ""].describe() == "3 series, budget 0 (none allowed)"
    assert found["node_cpu_seconds_total", ""].severity is Severity.WARNING

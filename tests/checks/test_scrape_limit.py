"""Check ``scrape_limit`` on the fixed input: a largest target from 80 % of its job's sample_limit."""

from __future__ import annotations

import pytest

from auditor.core.findings import Severity
from auditor.core.job_findings import ScrapeLimitFinding
from auditor.evaluate.checks import scrape_limit
from tests.checks.conftest import Snapshot, reported


def test_scrape_limit_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, scrape_limit, ScrapeLimitFinding)
    assert set(found) == {("api", "api-0:9100"), ("node", "node-0:9100")}, "web's 30 % is no finding"
    assert found["node", "node-0:9100"].severity is Severity.EXCEEDED
    assert found["api", "api-0:9100"].value == pytest.approx(0.85)

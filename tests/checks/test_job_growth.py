"""Check ``job_growth`` on the fixed input: a job grown past its max_growth."""

from __future__ import annotations

import pytest

from auditor.core.job_findings import JobGrowthFinding
from auditor.evaluate.checks import job_growth
from tests.checks.conftest import Snapshot, reported


def test_job_growth_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, job_growth, JobGrowthFinding)
    assert set(found) == {("api", "")}, "batch grew 5 % in 1d, a window it does not limit (it has no 7d baseline)"
    assert found["api", ""].value == pytest.approx(0.4)

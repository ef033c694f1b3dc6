"""Check ``unprotected_job`` on the fixed input: a job with targets and no sample_limit."""

from __future__ import annotations

from auditor.core.job_findings import UnprotectedJobFinding
from auditor.evaluate.checks import unprotected_job
from tests.checks.conftest import Snapshot, reported


def test_unprotected_job_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, unprotected_job, UnprotectedJobFinding)
    assert set(found) == {("batch", "")}, "the only job without a sample_limit"
    assert found["batch", ""].series == 3000

"""Check ``job`` on the fixed input: a job over its jobs: budget, or past warn_ratio of it."""

from __future__ import annotations

from auditor.core.findings import Severity
from auditor.core.job_findings import JobBudgetFinding
from auditor.evaluate.checks import job
from tests.checks.conftest import Snapshot, reported


def test_job_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, job, JobBudgetFinding)
    assert set(found) == {("api", ""), ("batch", "")}, "node and web have no jobs: entry"
    assert found["batch", ""].severity is Severity.WARNING

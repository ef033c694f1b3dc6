"""Check ``label`` on the fixed input: a label over its max_values, or past warn_ratio of it."""

from __future__ import annotations

from auditor.core.findings import LabelFinding, Severity
from auditor.evaluate.checks import label
from tests.checks.conftest import Snapshot, reported


def test_label_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, label, LabelFinding)
    assert found["user_sessions", "region"].severity is Severity.WARNING, "9 values of 10: past warn_ratio"
    assert found["user_sessions", "user_id"].severity is Severity.EXCEEDED
    assert len(found) == 2, "route and code have no limit"

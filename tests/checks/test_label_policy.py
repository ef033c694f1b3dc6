"""Check ``label_policy`` on the fixed input: a denied label the metric carries."""

from __future__ import annotations

from auditor.core.findings import LabelPolicyFinding
from auditor.evaluate.checks import label_policy
from tests.checks.conftest import Snapshot, reported


def test_label_policy_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = reported(snapshot, label_policy, LabelPolicyFinding)
    assert set(found) == {("user_sessions", "session_id")}, "instance is always allowed; route and code not denied"

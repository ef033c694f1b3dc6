"""Every check on hand-built inputs: no servers, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from auditor.config.budgets import load_budgets
from auditor.core.budgets import Budgets
from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.core.findings import Finding
from auditor.core.label_usage import Reader, ReaderKind
from auditor.core.remedies import Action, Remedy
from auditor.evaluate import EvaluationInput, Kind, LabelStats, Severity, evaluate
from auditor.evaluate.checks.forecast import seconds_to_budget, theil_sen_slope
from auditor.evaluate.remedies import UNKNOWN, Offender, Readers, decide
from auditor.evaluate.targets import drilldown_targets, forecast_targets
from auditor.evaluate.usage import Status
from tests.support import builders

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
DAY = timedelta(days=1)

BUDGETS = """
defaults:
  owner: platform
  max_series: 1000
  warn_ratio: 0.8
  max_growth: {7d: 0.2}
  growth_min_series: 50
metrics:
  - name: user_sessions
    owner: team-identity
    max_series: 400
    labels: {user_id: {max_values: 100}}
  - match: "http_.*"
    owner: team-web
    max_series: 500
    max_growth: {1d: 0.5}
    exception: {max_series: 900, until: 2026-12-31, reason: migration}
"""


@pytest.fixture
def budgets(tmp_path: Path) -> Budgets:
    path = tmp_path / "budgets.yml"
    path.write_text(BUDGETS)
    return load_budgets(path, today=date(2026, 11, 22))


def census(metrics: dict[str, int]) -> Census:
    return builders.census(
        metrics, NOW, version="2.53.0", method=CensusMethod.TSDB_STATUS, notion=SeriesNotion.HEAD,
        head=HeadStats(sum(metrics.values()), 0, 0, 0, 0), label_stats={}, stale_names=0,
    )  # fmt: skip


def kinds(findings: object) -> set[tuple[str, str, str]]:
    return {(f.metric, f.kind.value, f.severity.value) for f in findings}  # type: ignore[attr-defined]


def test_series_budget_ok_warning_exceeded(budgets: Budgets) -> None:
    metrics = {"user_sessions": 401, "http_requests_total": 720, "ok_metric": 799, "near": 800, "over": 1001}
    result = evaluate(EvaluationInput(census(metrics), budgets))
    assert kinds(result.findings) == {
        ("user_sessions", "series", "exceeded"),
        ("http_requests_total", "series", "warning"),  # 720 of the 900 the exception allows
        ("near", "series", "warning"),
        ("over", "series", "exceeded"),
    }
    [sessions] = [f for f in result.violations if f.subject == "user_sessions"]
    assert (sessions.owner, sessions.series, sessions.max_series) == ("team-identity", 401, 400)
    assert result.statuses["user_sessions"].exceeded
    assert result.statuses["ok_metric"].usage == pytest.approx(0.799)
    assert not result.statuses["ok_metric"].warning


def test_exactly_at_budget_is_a_warning_not_a_violation(budgets: Budgets) -> None:
    result = evaluate(EvaluationInput(census({"user_sessions": 400}), budgets))
    assert [f.severity for f in result.findings] == [Severity.WARNING]


def test_growth_compares_hourly_maxima_one_window_apart(budgets: Budgets) -> None:
    inp = EvaluationInput(
        census({"grower": 130, "steady": 119, "tiny": 40, "fresh": 500, "http_x": 100}),
        budgets,
        baselines={WEEK: {"grower": 100, "steady": 100, "tiny": 10}, DAY: {"http_x": 60}},
        recent_max={"grower": 125, "steady": 121},
    )
    findings = [f for f in evaluate(inp).findings if f.kind is Kind.GROWTH]
    by_metric = {f.subject: f for f in findings}
    assert set(by_metric) == {"grower", "steady", "http_x"}
    assert by_metric["grower"].value == pytest.approx(0.30)
    assert by_metric["grower"].window == WEEK
    assert by_metric["steady"].value == pytest.approx(0.21), "the hourly maximum counts, not the last raw point"
    assert by_metric["http_x"].value == pytest.approx(100 / 60 - 1)
    assert by_metric["http_x"].window == DAY, "an entry's own windows replace the default ones"


def test_label_budget_uses_the_drilldown(budgets: Budgets) -> None:
    inp = EvaluationInput(
        census({"user_sessions": 300, "other": 10}),
        budgets,
        labels={"user_sessions": {"user_id": LabelStats(150, 2)}, "other": {"user_id": LabelStats(999)}},
    )
    [finding] = [f for f in evaluate(inp).findings if f.kind is Kind.LABEL]
    assert (finding.subject, finding.detail, finding.value, finding.limit) == ("user_sessions", "user_id", 150, 100)
    assert finding.describe() == "label user_id has 150 values, limit 100"


def test_label_warning_and_missing_drilldown(budgets: Budgets) -> None:
    warn = EvaluationInput(
        census({"user_sessions": 10}), budgets, labels={"user_sessions": {"user_id": LabelStats(85)}}
    )
    assert kinds(evaluate(warn).findings) == {("user_sessions", "label", "warning")}
    assert evaluate(EvaluationInput(census({"user_sessions": 10}), budgets)).findings == ()


def test_theil_sen_ignores_one_outlier() -> None:
    points = [(float(h * 3600), 100.0 + 10 * h) for h in range(12)]
    points[5] = (points[5][0], 5000.0)
    assert theil_sen_slope(points) == pytest.approx(10 / 3600)


def test_forecast_time_left_and_none_when_flat_or_short() -> None:
    rising = [(float(h * 3600), 100.0 + 10 * h) for h in range(24)]
    assert seconds_to_budget(rising, current=330, max_series=400) == pytest.approx(7 * 3600)
    flat = [(float(h * 3600), 100.0) for h in range(24)]
    assert seconds_to_budget(flat, current=100, max_series=400) is None
    assert seconds_to_budget(rising[:3], current=120, max_series=400) is None
    assert seconds_to_budget(rising, current=400, max_series=400) == 0.0


def test_exhaustion_reaches_the_status(budgets: Budgets) -> None:
    trend = [(NOW.timestamp() - 3600 * (23 - h), 100.0 + 10 * h) for h in range(24)]
    inp = EvaluationInput(census({"user_sessions": 330}), budgets, trends={"user_sessions": trend})
    assert evaluate(inp).statuses["user_sessions"].exhaustion_seconds == pytest.approx(7 * 3600)


def test_owner_totals(budgets: Budgets) -> None:
    result = evaluate(EvaluationInput(census({"user_sessions": 10, "http_a": 5, "http_b": 7, "x": 1}), budgets))
    assert result.owner_series() == {"team-identity": 10, "team-web": 12, "platform": 1}


def test_drilldown_targets_order(budgets: Budgets) -> None:
    metrics = {"big": 900, "over": 2000, "user_sessions": 10, "small": 1}
    assert drilldown_targets(census(metrics), budgets, top_n=1) == ["over", "big", "user_sessions"]
    assert forecast_targets(census(metrics), budgets) == ["big", "over", "user_sessions"]


def suggest(finding: Finding, labels: dict[str, LabelStats], readers: Readers = UNKNOWN) -> Remedy:
    label = finding.detail if finding.kind in (Kind.LABEL, Kind.LABEL_POLICY) else ""
    return decide(Offender(finding.subject, finding.series, labels, label), readers)


NOBODY = Readers(Status.USED, known=True, covered_seconds=30 * 86400)
"""The metric is read, none of its labels is: the query log covers the window."""


def test_a_label_that_makes_series_unique_is_fixed_at_the_source_never_relabeled(budgets: Budgets) -> None:
    result = evaluate(EvaluationInput(census({"user_sessions": 500}), budgets))
    [finding] = result.violations
    labels = {"user_id": LabelStats(480, 12, 500, "numeric ids"), "instance": LabelStats(900), "region": LabelStats(3)}
    fix = suggest(finding, labels, NOBODY)
    assert (fix.action, fix.label, fix.safe, fix.config) == (Action.FIX_AT_SOURCE, "user_id", False, None)
    assert (fix.series_now, fix.predicted_series, fix.proof.merges) == (500, 12, True)
    assert "count(user_sessions) = 500, count(count without (user_id) (user_sessions)) = 12" in fix.proof.text
    assert "numeric ids" in fix.note
    assert "saves" not in fix.note, "no saving is claimed that comes from merged series"
    assert fix.recording_rule is not None
    assert "sum without (user_id) (user_sessions)" in fix.recording_rule


def test_a_label_that_merges_nothing_and_nobody_reads_is_removed_and_saves_nothing(budgets: Budgets) -> None:
    [finding] = evaluate(EvaluationInput(census({"user_sessions": 500}), budgets)).violations
    labels = {"pod_ip": LabelStats(50, 500, 500), "pod": LabelStats(50, 500, 500)}
    fix = suggest(finding, labels, NOBODY)
    assert (fix.action, fix.label, fix.safe) == (Action.DROP_LABEL, "pod", True)
    assert (fix.predicted_series, fix.series_saved, fix.proof.merges) == (500, 0, False)
    assert fix.config is not None
    assert "target_label: pod\n" in fix.config
    assert 'regex: "user_sessions"' in fix.config


def test_a_label_someone_reads_is_blocked_by_that_reader(budgets: Budgets) -> None:
    [finding] = evaluate(EvaluationInput(census({"user_sessions": 500}), budgets)).violations
    rule = Reader(ReaderKind.RULE, "sessions/sessions:by_pod")
    read = Readers(Status.USED, labels={"pod": (rule,)}, known=True, covered_seconds=30 * 86400)
    fix = suggest(finding, {"pod": LabelStats(50, 500, 500)}, read)
    assert (fix.action, fix.safe, fix.config, fix.blocked_by) == (Action.DROP_LABEL, False, None, (rule,))
    assert "sessions/sessions:by_pod" in fix.note
    unknown = suggest(finding, {"pod": LabelStats(50, 500, 500)}, UNKNOWN)
    assert (unknown.safe, unknown.config) == (False, None), "without a query log, nobody reading it is not known"


def test_a_metric_nobody_reads_is_dropped_and_one_unknown_is_not(budgets: Budgets) -> None:
    [finding] = evaluate(EvaluationInput(census({"over": 5000}), budgets)).violations
    fix = suggest(finding, {}, Readers(Status.UNUSED, known=True, covered_seconds=30 * 86400))
    assert (fix.action, fix.safe, fix.predicted_series, fix.series_saved) == (Action.DROP_METRIC, True, 0, 5000)
    assert fix.config is not None
    assert "action: drop" in fix.config
    unknown = suggest(finding, {})
    assert (unknown.action, unknown.safe, unknown.config) == (Action.DROP_METRIC, False, None)
    assert "in the 30.0d the query log covers" in fix.proof.text


def test_a_metric_without_active_series_proves_nothing(budgets: Budgets) -> None:
    """The head still counts series a relabeling dropped: with no active series, no label removal is proven."""
    [finding] = evaluate(EvaluationInput(census({"over": 5000}), budgets)).violations
    fix = suggest(finding, {"id": LabelStats(5, 0, 0)}, NOBODY)
    assert (fix.action, fix.safe, fix.config, fix.proof.merges) == (Action.FIX_AT_SOURCE, False, None, None)


POLICY = """
defaults:
  labels_denied: [user_id, email]
metrics:
  - name: user_sessions
    owner: team-identity
    labels_allowed: [user_id, region]
  - match: "http_.*"
    owner: team-web
    labels_allowed: [route, code]
  - name: audit_log_total
    labels_denied: [email]
"""


def test_label_policy_denied_unlisted_always_allowed_and_entry_overrides(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text(POLICY)
    budgets = load_budgets(path, today=date(2026, 11, 22))
    labels = {
        "api_calls": {"user_id": LabelStats(40, 2), "route": LabelStats(3)},
        "user_sessions": {"user_id": LabelStats(90), "region": LabelStats(3), "pod": LabelStats(2)},
        "http_requests_total": {"route": LabelStats(5), "le": LabelStats(12), "job": LabelStats(1),
                                "instance": LabelStats(2), "pod": LabelStats(4, 10)},
        "audit_log_total": {"user_id": LabelStats(7), "email": LabelStats(7, 1)},
    }  # fmt: skip
    metrics = {"api_calls": 80, "user_sessions": 540, "http_requests_total": 40, "audit_log_total": 7}
    result = evaluate(EvaluationInput(census(metrics), budgets, labels))
    found = {(f.subject, f.detail, f.owner, f.value) for f in result.findings if f.kind is Kind.LABEL_POLICY}
    assert found == {
        ("api_calls", "user_id", "unowned", 40),               # denied by the defaults
        ("user_sessions", "pod", "team-identity", 2),          # outside its allowed list
        ("http_requests_total", "pod", "team-web", 4),         # le, job, instance: always allowed
        ("audit_log_total", "email", "unowned", 7),            # its own denied list replaces the defaults'
    }  # fmt: skip
    assert all(f.severity is Severity.EXCEEDED for f in result.findings if f.kind is Kind.LABEL_POLICY)
    [http] = [f for f in result.findings if f.subject == "http_requests_total" and f.kind is Kind.LABEL_POLICY]
    assert http.describe() == "label pod (4 values) is not allowed by the label policy"
    fix = suggest(http, labels["http_requests_total"])
    assert (fix.action, fix.label, fix.safe, fix.config) == (Action.FIX_AT_SOURCE, "pod", False, None)
    assert "not measured" in fix.proof.text, "count(m) was not measured beside the count without it"


def test_policy_labels_are_the_ones_some_scope_forbids_denied_first(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text(POLICY)
    budgets = load_budgets(path, today=date(2026, 11, 22))
    server = ["__name__", "job", "instance", "le", "route", "code", "region", "user_id", "email", "pod", "zone"]
    # route and code are forbidden for user_sessions; region for http_*; user_id for http_* and the defaults
    assert budgets.policy_labels(server) == ["email", "user_id", "code", "pod", "region", "route", "zone"]
    assert budgets.has_label_policy
    path.write_text("defaults: {max_series: 5}\n")
    assert not load_budgets(path, today=date(2026, 11, 22)).has_label_policy


def test_on_victoriametrics_a_label_fixed_at_the_source_also_gets_a_stream_aggregation_rule(budgets: Budgets) -> None:
    [finding] = evaluate(EvaluationInput(census({"user_sessions": 500}), budgets)).violations
    labels = {"user_id": LabelStats(480, 12, 500)}
    fix = decide(Offender(finding.subject, finding.series, labels), NOBODY, victoria=True)
    assert (fix.action, fix.config) == (Action.FIX_AT_SOURCE, None)
    assert fix.stream_aggregation == (
        "- match: 'user_sessions'\n  interval: 1m\n  without: [user_id]\n"
        "  outputs: [sum_samples]  # with interval equal to the scrape interval\n"
    )
    counter = decide(Offender("http_requests_total", 500, labels), NOBODY, victoria=True)
    assert counter.stream_aggregation is not None
    assert "outputs: [total]" in counter.stream_aggregation
    assert decide(Offender(finding.subject, finding.series, labels), NOBODY).stream_aggregation is None

"""The budgets file (docs/budgets.md): lookups, defaults, exceptions, and every error with FILE:LINE."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from auditor.config.budgets import BudgetsProvider, load_budgets
from auditor.core.budgets import default_budgets
from auditor.core.errors import BudgetsError
from tests.support.builders import CLOCK, ClockOf

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "budgets.yml"
    path.write_text(text)
    return path


def test_shipped_example_is_valid_and_means_what_it_says() -> None:
    budgets = load_budgets(ROOT / "rules" / "budgets.yml", today=date(2026, 11, 22))
    assert budgets.warnings == ()
    sessions = budgets.for_metric("user_sessions")
    assert (sessions.owner, sessions.max_series, sessions.labels) == ("team-identity", 400, {"user_id": 100})
    assert sessions.max_growth == {timedelta(days=7): 0.2}
    web = budgets.for_metric("http_requests_total")
    assert (web.owner, web.max_series, web.exception_reason) == (
        "team-web",
        2000,
        "migration to route templates (WEB-1234)",
    )
    assert web.max_growth == {timedelta(days=1): 0.5, timedelta(days=7): 0.3}
    other = budgets.for_metric("go_goroutines")
    assert (other.owner, other.max_series, other.explicit) == ("platform-observability", 10000, False)


def test_exception_ends_after_its_date() -> None:
    budgets = load_budgets(ROOT / "rules" / "budgets.yml", today=date(2027, 1, 1))
    assert budgets.for_metric("http_requests_total").max_series == 1000
    [warning] = budgets.warnings
    assert "budgets.yml:28: exception for 'http_.*' expired on 2026-12-31" in warning


def test_first_matching_entry_wins_in_file_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
metrics:
  - match: "api_.*"
    owner: broad
    max_series: 10
  - name: api_requests_total
    owner: exact
    max_series: 20
  - name: other
    owner: named-first
  - match: "oth.*"
    owner: regex-second
""",
    )
    budgets = load_budgets(path)
    assert budgets.for_metric("api_requests_total").owner == "broad"
    assert budgets.for_metric("other").owner == "named-first"
    assert budgets.for_metric("otherwise").owner == "regex-second"


def test_regexes_are_fully_anchored_like_prometheus(tmp_path: Path) -> None:
    budgets = load_budgets(write(tmp_path, 'metrics:\n  - match: "http_"\n    owner: web\n'))
    assert not budgets.for_metric("http_requests_total").explicit
    assert budgets.for_metric("http_").owner == "web"


def test_entry_labels_extend_default_labels(tmp_path: Path) -> None:
    text = """
defaults:
  labels: {pod: {max_values: 50}}
metrics:
  - name: m
    owner: o
    labels: {user_id: {max_values: 5}}
"""
    assert load_budgets(write(tmp_path, text)).for_metric("m").labels == {"pod": 50, "user_id": 5}


def test_no_file_means_the_documented_defaults() -> None:
    budget = default_budgets().for_metric("anything")
    assert (budget.owner, budget.max_series, budget.warn_ratio, budget.max_growth) == ("unowned", 10000, 0.8, {})


def test_a_file_without_defaults_and_no_file_give_the_same_budgets(tmp_path: Path) -> None:
    """The schema's defaults and the no-file budgets come from one place (core.budgets.DEFAULTS)."""
    from_file = load_budgets(write(tmp_path, "metrics: []\n"))
    for metric in ("anything", "up"):
        assert from_file.for_metric(metric) == default_budgets().for_metric(metric)
    assert from_file.job_owner("api") == default_budgets().job_owner("api")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("metrics:\n  - name: a\n    owner: o\n    max_serie: 5\n", 4, "metrics.0.max_serie: unknown key"),
        ("defaults:\n  max_series: -5\n", 2, "defaults.max_series: Input should be greater than or equal to 0"),
        ("defaults:\n  max_series: lots\n", 2, "defaults.max_series: Input should be a valid integer"),
        ("defaults:\n  max_series: 1.5\n", 2, "defaults.max_series: Input should be a valid integer"),
        ("defaults:\n  warn_ratio: 1.5\n", 2, "defaults.warn_ratio: Input should be less than or equal to 1"),
        ("metrics:\n  - match: 'http_(.*'\n    owner: w\n", 2, "invalid regular expression 'http_(.*'"),
        ("metrics:\n  - owner: w\n", 2, "exactly one of `name`"),
        ("metrics:\n  - name: a\n    match: b\n", 2, "exactly one of `name`"),
        ("defaults:\n  max_growth: {7x: 0.2}\n", 2, "growth window '7x'"),
        ("metrics:\n  - name: a\n    labels: {user_id: {max_values: -1}}\n", 3, "labels.user_id.max_values"),
        ("metrics:\n  - name: a\n    exception: {max_series: 5, until: someday, reason: x}\n", 3, "exception.until"),
        (
            "metrics:\n  - name: a\n    exception: {max_series: 5, until: 2026-01-01}\n",
            3,
            "exception.reason: Field required",
        ),
        ("defaults:\n  labels_denied: user_id\n", 2, "defaults.labels_denied: Input should be a valid list"),
        ("defaults:\n  labels_denied: [user_id, 5]\n", 2, "defaults.labels_denied.1: Input should be a valid string"),
        (
            "defaults:\n  labels_denied:\n    - email\n    - user id\n",
            4,
            "labels_denied.1: 'user id' is not a label name",
        ),
        ("defaults:\n  labels_denied: [instance]\n", 2, "'instance' is always allowed"),
        ("defaults:\n  labels_denied: [__tmp]\n", 2, "reserved for Prometheus' own use"),
        ("defaults:\n  labels_denied: [a, a]\n", 2, "a listed more than once"),
        (
            "metrics:\n  - name: m\n    labels_allowed: {a: 1}\n",
            3,
            "metrics.0.labels_allowed: Input should be a valid list",
        ),
        ("metrics:\n  - name: m\n    labels_alowed: [a]\n", 3, "metrics.0.labels_alowed: unknown key"),
        (
            "metrics:\n  - name: m\n    labels_allowed: [a, b]\n    labels_denied: [b]\n",
            2,
            "b both in labels_allowed and labels_denied",
        ),
        ("jobs:\n  - name: api\n    owner: web\n", 2, "jobs.0.max_series: Field required"),
        ("jobs:\n  - match: 'api-(('\n    max_series: 5\n", 2, "invalid regular expression 'api-(('"),
        (
            "jobs:\n  - name: api\n    max_series: 5\n    labels: {a: {max_values: 1}}\n",
            4,
            "jobs.0.labels: unknown key",
        ),
        (
            "jobs:\n  - name: api\n    max_series: -1\n",
            3,
            "jobs.0.max_series: Input should be greater than or equal to 0",
        ),
        ("jobs:\n  - owner: web\n    max_series: 5\n", 2, "exactly one of `name` (exact job name)"),
        ("defaults: {max_series: 5\n", 2, "invalid YAML"),
        ("- just\n- a list\n", 1, "a budgets file is a mapping"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BudgetsError) as info:
        load_budgets(path)
    assert f"{path}:{line}: " in str(info.value)
    assert message in str(info.value)


def test_bool_is_not_a_number(tmp_path: Path) -> None:
    with pytest.raises(BudgetsError, match="max_series"):
        load_budgets(write(tmp_path, "defaults:\n  max_series: true\n"))


def test_provider_reloads_on_change_and_keeps_the_last_good_budgets(tmp_path: Path) -> None:
    path = write(tmp_path, "metrics:\n  - name: a\n    owner: one\n    max_series: 10\n")
    provider = BudgetsProvider(path, CLOCK)
    provider.load()
    assert provider.current().for_metric("a").max_series == 10
    path.write_text("metrics:\n  - name: a\n    owner: one\n    max_series: 20\n")
    os.utime(path, ns=(1, 10**18))
    assert provider.current().for_metric("a").max_series == 20
    path.write_text("metrics:\n  - name: a\n    max_series: -1\n")
    os.utime(path, ns=(1, 2 * 10**18))
    assert provider.current().for_metric("a").max_series == 20, "a broken edit keeps the last good budgets"
    assert (provider.valid, provider.reload_failures) == (False, 1)
    assert provider.last_error is not None
    assert f"{path}:3: metrics.0.max_series" in provider.last_error
    assert provider.current().for_metric("a").max_series == 20
    assert provider.reload_failures == 1, "the same broken file is not re-read every cycle"
    path.write_text("metrics:\n  - name: a\n    owner: one\n    max_series: 30\n")
    provider.reload()
    assert (provider.current().for_metric("a").max_series, provider.valid) == (30, True)


def test_provider_refuses_a_broken_file_at_start(tmp_path: Path) -> None:
    provider = BudgetsProvider(write(tmp_path, "defaults: {max_series: x}\n"), CLOCK)
    with pytest.raises(BudgetsError):
        provider.load()


def test_the_day_comes_from_the_callers_clock_never_from_the_wall() -> None:
    """No hidden clock: undated budgets keep every exception until evaluation asks with its day."""
    undated = load_budgets(ROOT / "rules" / "budgets.yml")
    assert (undated.today, undated.warnings) == (None, ())
    assert undated.for_metric("http_requests_total").max_series != 1000, "the exception is in force"
    assert undated.on(date(2027, 1, 1)).for_metric("http_requests_total").max_series == 1000
    provider = BudgetsProvider(ROOT / "rules" / "budgets.yml", ClockOf(lambda: datetime(2027, 1, 1, tzinfo=UTC)))
    [warning] = provider.load().warnings
    assert "expired on 2026-12-31" in warning

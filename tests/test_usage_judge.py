"""Used, unused, unknown: pure verdicts from reads, the log's coverage, rules and dashboards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auditor.core.budgets import default_budgets
from auditor.core.usage import MetricReads
from auditor.evaluate.usage import Status, UsageInput, coverage, judge, unused_by_owner

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
WINDOW = timedelta(days=30)
SERIES = {"queried": 10, "ruled": 20, "filed": 30, "charted": 40, "idle": 500, "up": 3}


def verdicts(covered: timedelta | None) -> dict[str, tuple[Status, tuple[str, ...]]]:
    inp = UsageInput(
        SERIES, {"queried": MetricReads(api=3, last_api=NOW), "ruled": MetricReads(rule=7, last_rule=NOW)},
        {"idle": NOW - timedelta(days=45)}, covered, WINDOW, rules={"filed": ["g/r"]},
        dashboards={"charted": ["Edge"]},
    )  # fmt: skip
    return {v.metric: (v.status, v.readers) for v in judge(inp, default_budgets())}


def test_every_reader_counts_and_nothing_is_unused_before_the_log_covers_the_window() -> None:
    assert verdicts(WINDOW) == {
        "idle": (Status.UNUSED, ()),
        "charted": (Status.USED, ("dashboard: Edge",)),
        "filed": (Status.USED, ("rule file: g/r",)),
        "ruled": (Status.USED, ("rule: 7 evaluations",)),
        "queried": (Status.USED, ("api: 3 queries",)),
        "up": (Status.USED, ("prometheus: per-target scrape series",)),
    }
    assert verdicts(WINDOW - timedelta(minutes=1))["idle"][0] is Status.UNKNOWN, "one minute short"
    assert verdicts(None)["idle"][0] is Status.UNKNOWN, "no query log"
    assert verdicts(None)["queried"][0] is Status.USED, "a read is a read, however short the log"


def test_coverage_is_capped_at_the_window_and_unused_sums_per_owner() -> None:
    assert coverage(None, NOW, WINDOW) is None
    assert coverage(NOW - timedelta(days=3), NOW, WINDOW) == timedelta(days=3)
    assert coverage(NOW - timedelta(days=90), NOW, WINDOW) == WINDOW
    assert coverage(NOW + timedelta(hours=1), NOW, WINDOW) == timedelta(0), "a clock behind the log"
    inp = UsageInput(SERIES, {}, {}, WINDOW, WINDOW)
    assert unused_by_owner(judge(inp, default_budgets())) == {"unowned": (5, 600)}, "up is never unused"

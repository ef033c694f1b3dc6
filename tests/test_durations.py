from datetime import timedelta

import pytest

from auditor.core.durations import format_duration, in_words, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("500ms", timedelta(milliseconds=500)),
        ("1y", timedelta(days=365)),
        (" 2h ", timedelta(hours=2)),
    ],
)
def test_parse_prometheus_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5x", "m5", "1m1h", "-5m", "1.5h"])
def test_parse_rejects_non_durations_with_a_hint(text: str) -> None:
    with pytest.raises(ValueError, match="Prometheus duration"):
        parse_duration(text)


def test_zero_is_not_a_usable_interval() -> None:
    with pytest.raises(ValueError, match="greater than zero"):
        parse_duration("0s")


@pytest.mark.parametrize("text", ["30s", "5m", "1h30m", "1w", "500ms", "1d2h3m4s"])
def test_format_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text


def test_format_uses_the_largest_units_as_prometheus_does() -> None:
    assert format_duration(timedelta(days=7)) == "1w"
    assert format_duration(timedelta(seconds=90)) == "1m30s"


def test_spans_under_a_day_read_as_minutes_or_hours_in_the_report() -> None:
    from auditor.evaluate.report_usage import UsageEvidence, usage_note

    short = UsageEvidence([], timedelta(minutes=3), timedelta(days=30))
    assert usage_note(short).note == "The query log covers 3 minutes of 30 days: too short to call a metric unused yet."
    hours = UsageEvidence([], timedelta(hours=5, minutes=30), timedelta(days=1))
    assert usage_note(hours).note.startswith("The query log covers 5.5 hours of 1 day:")
    whole = UsageEvidence([], timedelta(minutes=2), timedelta(minutes=2))
    assert usage_note(whole).note.startswith("The query log covers the last 2 minutes:")
    assert [in_words(s) for s in (0, 59, 60, 90, 3600, 86399, 86400, 45 * 86400)] == [
        "0 seconds", "59 seconds", "1 minute", "1.5 minutes", "1 hour", "24 hours", "1 day", "45 days",
    ]  # fmt: skip

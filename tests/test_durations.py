from datetime import timedelta

import pytest

from auditor.core.durations import format_duration, parse_duration


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

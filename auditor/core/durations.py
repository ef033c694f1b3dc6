"""Prometheus-style durations: ``30s``, ``5m``, ``1h30m``, ``7d``, ``500ms``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS_MS = {
    "y": 365 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
"""The times the product takes from outside (query-log entries, command-line dates): beyond them date
arithmetic (a period's quarter before, a day after) leaves Python's calendar."""
MAX_MS = (2**63 - 1) // 1_000_000
"""Prometheus keeps a duration as int64 nanoseconds: about 292 years."""
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str, *, allow_zero: bool = False) -> timedelta:
    """Parse a Prometheus duration; zero (``0``, ``0s``, ``0m``) only with ``allow_zero``.

    Settings and budgets need a positive duration; a rule file's ``for: 0s`` is valid and means "none".

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> parse_duration("0", allow_zero=True)
    datetime.timedelta(0)
    """
    stripped = text.strip()
    match = _DURATION.match(stripped)
    if stripped == "0":  # Prometheus accepts a bare zero, and only zero, without a unit
        total_ms = 0
    elif not stripped or match is None or not any(match.groups()):
        raise ValueError(f"invalid duration {_shown(text)}: use a Prometheus duration such as 30s, 5m, 1h30m or 7d")
    else:
        total_ms = sum(int(n) * ms for n, ms in zip(match.groups(), _UNITS_MS.values(), strict=True) if n)
    if total_ms > MAX_MS:
        raise ValueError(f"invalid duration {_shown(text)}: out of range (at most 292y, as in Prometheus)")
    if total_ms == 0 and not allow_zero:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return timedelta(milliseconds=total_ms)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def format_duration(delta: timedelta) -> str:
    """The shortest Prometheus spelling of ``delta``.

    >>> format_duration(timedelta(minutes=90))
    '1h30m'
    """
    remaining = round(delta.total_seconds() * 1000)
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, ms in _UNITS_MS.items():
        count, remaining = divmod(remaining, ms)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def approximate(seconds: float) -> str:
    """A forecast's time left, as a person reads it: ``now``, ``<1h``, ``5h``, ``3.5d``.

    >>> approximate(0), approximate(1800), approximate(5 * 3600), approximate(3.5 * 86400)
    ('now', '<1h', '5h', '3.5d')
    """
    if seconds <= 0:
        return "now"
    if seconds < 3600:
        return "<1h"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds / 86400:.1f}d"


def span(seconds: float) -> str:
    """A span of time, as a person reads it: ``45s``, ``12m``, ``5.5h``, ``3.5d``.

    >>> span(45), span(720), span(5.5 * 3600), span(3.5 * 86400)
    ('45s', '12m', '5.5h', '3.5d')
    """
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def in_words(seconds: float) -> str:
    """A span of time as a report says it: ``45 seconds``, ``12 minutes``, ``5.5 hours``, ``30 days``.

    >>> in_words(1), in_words(720), in_words(5.5 * 3600), in_words(30 * 86400), in_words(3.5 * 86400)
    ('1 second', '12 minutes', '5.5 hours', '30 days', '3.5 days')
    """
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return _counted(seconds / size, unit)
    return _counted(max(0.0, seconds), "second")


def _counted(value: float, unit: str) -> str:
    shown = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"
    return f"{shown} {unit}" + ("" if shown == "1" else "s")

"""Prometheus-style durations: ``30s``, ``5m``, ``1h30m``, ``7d``, ``500ms``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS_MS = {
    "y": 365 * 86_400_000,
    "w": 7 * 86_400_000,
    "d": 86_400_000,
    "h": 3_600_000,
    "m": 60_000,
    "s": 1_000,
    "ms": 1,
}
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus duration.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    """
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"invalid duration {text!r}: use a Prometheus duration such as 30s, 5m, 1h30m or 7d")
    total_ms = sum(int(n) * ms for n, ms in zip(match.groups(), _UNITS_MS.values(), strict=True) if n)
    if total_ms == 0:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return timedelta(milliseconds=total_ms)


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

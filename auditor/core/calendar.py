"""The report's calendar: ISO weeks in the report's time zone, and ranges (``report --week``, ``--since``).

>>> week_period("2026-W47", "UTC").start.isoformat()
'2026-11-16T00:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from auditor.core.durations import EARLIEST, LATEST
from auditor.core.errors import ConfigError

WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    label: str


def week_period(week: str, timezone: str) -> Period:
    """``2026-W47`` -> Monday 00:00 to the next Monday 00:00 in ``timezone``."""
    try:
        year, number = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError as exc:
        raise ConfigError(f"--week {week!r}: use an ISO week such as 2026-W47") from exc
    if not EARLIEST.year <= monday.year < LATEST.year:
        raise ConfigError(f"--week {week!r}: a week from {EARLIEST.year} to {LATEST.year - 1}")
    start = datetime.combine(monday, time(), ZoneInfo(timezone)).astimezone(UTC)
    return Period(start, start + WEEK, f"{int(year)}-W{int(number):02d}")


def week_start(now: datetime, timezone: str) -> datetime:
    """Monday 00:00 of the ISO week ``now`` is in, in ``timezone``."""
    local = now.astimezone(ZoneInfo(timezone))
    return datetime.combine(local.date() - timedelta(days=local.weekday()), time(), ZoneInfo(timezone))


def last_week(now: datetime, timezone: str) -> Period:
    """The ISO week before the one ``now`` is in: what the Monday-morning report covers."""
    year, week, _ = (now.astimezone(ZoneInfo(timezone)) - WEEK).isocalendar()
    return week_period(f"{year}-W{week:02d}", timezone)


def range_period(since: datetime, until: datetime) -> Period:
    if until <= since:
        raise ConfigError(f"--until {until:%Y-%m-%d %H:%M} is not after --since {since:%Y-%m-%d %H:%M}")
    return Period(since, until, f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC")

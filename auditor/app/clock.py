"""The one reader of the system's clocks: everything else is handed a ``Clock`` (tests hand their own)."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SystemClock:
    """Wall-clock time in UTC, and the monotonic clock for durations and deadlines."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM = SystemClock()


class CommandClock(SystemClock):
    """A command's clock: the time it started, read once (a report's end and its "generated at" agree), and
    the monotonic clock for its deadlines."""

    def __init__(self) -> None:
        self._started = datetime.now(UTC)

    def now(self) -> datetime:
        return self._started

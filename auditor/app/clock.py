"""The one reader of the wall clock: everything else is handed a ``Clock`` (tests hand their own)."""

from __future__ import annotations

from datetime import UTC, datetime


def system_clock() -> datetime:
    return datetime.now(UTC)

"""Readiness (``/readyz``): the database answers and the last successful cycle is recent."""

from __future__ import annotations

from datetime import datetime, timedelta

from auditor.app.stats import CycleStats
from auditor.core.errors import StoreError
from auditor.store import Store


def readiness(
    store: Store, stats: CycleStats, now: datetime, stale_after: timedelta, standby: bool
) -> tuple[bool, str]:
    """(ready, why): not ready while the database fails or no cycle succeeded within ``stale_after``."""
    try:
        store.ping()
    except StoreError as exc:
        return False, str(exc)
    last = stats.view().last_success
    if last is None:
        return False, "no successful audit cycle yet"
    age = int((now - last).total_seconds())
    if now - last > stale_after:
        return False, f"last successful cycle was {age}s ago"
    role = " (standby: another auditor writes this source)" if standby else ""
    return True, f"ok: last successful cycle {age}s ago{role}"

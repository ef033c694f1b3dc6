"""What many test modules build the same way: a census, the CI rule for missing servers, the ground truth.

census({"up": 1})                                  # a 2.42 active-series census of source "prod" at T0
census({"a": 5}, version="2.53.0", method=CensusMethod.TSDB_STATUS, notion=SeriesNotion.HEAD, head=5)
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from auditor.app.clock import SYSTEM
from auditor.core.cycle import CycleRecord, Stored
from auditor.core.domain import Census, CensusMethod, HeadStats, SeriesNotion
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import SCRAPE_SERIES

if TYPE_CHECKING:  # the store pulls SQLAlchemy in: the benchmarks that import these builders measure their RSS
    from auditor.store import Store

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CLOCK = SYSTEM
"""The system's clock, for tests that run in real time."""
utc_now = SYSTEM.now
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
_LABEL_STATS = object()


def census(
    metrics: dict[str, int],
    at: datetime = T0,
    source: str = "prod",
    *,
    version: str = "2.42.0",
    method: CensusMethod = CensusMethod.COUNT_BY_NAME,
    notion: SeriesNotion = SeriesNotion.ACTIVE,
    head: HeadStats | int | None = None,
    label_stats: Any = _LABEL_STATS,
    stale_names: int = 1,
) -> Census:
    """A census as a cycle stores it; ``head`` defaults to the metrics' sum plus Prometheus' own five series."""
    if head is None or isinstance(head, int):
        head = HeadStats(sum(metrics.values()) + 5 if head is None else head, 40, 90, 1000, 2000)
    stats = {"labelValueCountByLabelName": {"__name__": len(metrics), "user_id": 9}}
    return Census(
        source=source, collected_at=at, prometheus_version=version, method=method, notion=notion, head=head,
        metrics=metrics, label_stats=stats if label_stats is _LABEL_STATS else label_stats, stale_names=stale_names,
    )  # fmt: skip


def missing(what: str) -> None:
    """Skip locally, fail in CI: nothing may be skipped there for lack of a server."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (run `make test`, which installs it)")
    pytest.skip(f"{what} not available")


def ground_truth(exporter: Exporter) -> dict[str, int]:
    """What Prometheus must hold: the exporter's series plus the per-target series it writes itself."""
    return exporter.shape() | dict.fromkeys(SCRAPE_SERIES, 1)


class ClockOf:
    """A clock whose ``now()`` is ``now_of()`` (a fixed instant, or one a test moves); real monotonic time."""

    def __init__(self, now_of: Callable[[], datetime]) -> None:
        self._now_of = now_of

    def now(self) -> datetime:
        return self._now_of()

    def monotonic(self) -> float:
        return time.monotonic()


def save_census(store: Store, census: Census, url: str, duration_seconds: float, **parts: Any) -> int:
    """``store.save`` of one cycle record, for a test that writes history: the snapshot id (standby fails it)."""
    saved = store.save(CycleRecord(census, url, duration_seconds, **parts))
    assert isinstance(saved, Stored), f"not stored: {saved}"
    return saved.snapshot_id

"""The report's "Classic histograms": what converting every measured classic histogram to a native one would save,
per owner and per scrape job, whether this server can take the switch, and the largest candidates
(docs/histograms.md). From the newest inventory stored by the period's end."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from auditor.core.histograms import Inventory, JobFamily

TOP = 20


@dataclass(frozen=True)
class HistogramRow:
    metric: str
    job: str
    owner: str
    series_now: int
    series_after: int
    series_saved: int
    empty_buckets: list[str]
    """``le`` values of buckets that never filled over the window (a ``drop_buckets`` candidate)."""


@dataclass(frozen=True)
class HistogramSaving:
    name: str
    """The owner, or the scrape job."""
    series_now: int
    series_after: int
    series_saved: int


@dataclass(frozen=True)
class HistogramsSection:
    measured_at: datetime | None
    """When the inventory was taken; None when no cycle of the period or before took one."""
    native_histograms: bool | None
    """Whether this server stores what the switch produces (None: unknown, or before Prometheus 3)."""
    switch_recommended: bool
    reason: str
    series_now: int
    series_after: int
    by_owner: list[HistogramSaving]
    by_job: list[HistogramSaving]
    candidates: list[HistogramRow]
    """The largest savings first (at most ``TOP``)."""


def histograms_section(
    newest: tuple[datetime, Inventory] | None, owner_of: Callable[[str], str], owner: str | None
) -> HistogramsSection:
    if newest is None:
        return HistogramsSection(None, None, False, "no histogram inventory stored yet", 0, 0, [], [], [])
    at, inventory = newest
    rows = [_row(f, owner_of(f.metric)) for f in inventory.families]
    rows = sorted((r for r in rows if owner is None or r.owner == owner),
                  key=lambda r: (-r.series_saved, r.metric, r.job))  # fmt: skip
    support = inventory.support
    return HistogramsSection(
        at, support.native_histograms, bool(support.switch and support.native_histograms), support.reason,
        sum(r.series_now for r in rows), sum(r.series_after for r in rows), _savings(rows, lambda r: r.owner),
        _savings(rows, lambda r: r.job), rows[:TOP],
    )  # fmt: skip


def _row(f: JobFamily, owner: str) -> HistogramRow:
    return HistogramRow(f.metric, f.job, owner, f.series_now, f.series_after, f.saved, list(f.empty_buckets))


def _savings(rows: Iterable[HistogramRow], key: Callable[[HistogramRow], str]) -> list[HistogramSaving]:
    totals: dict[str, list[int]] = {}
    for r in rows:
        t = totals.setdefault(key(r), [0, 0])
        t[0], t[1] = t[0] + r.series_now, t[1] + r.series_after
    savings = [HistogramSaving(name, now, after, now - after) for name, (now, after) in totals.items()]
    return sorted(savings, key=lambda s: (-s.series_saved, s.name))

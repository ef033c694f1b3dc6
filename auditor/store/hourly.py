"""Hourly maxima of series counts, the comparable samples of the growth check (docs/architecture.md).

    maxima = HourlyMaxima(store)
    maxima.hour("prod", "head", hour_start(now - timedelta(days=7)))   # cached: a past hour never changes
    maxima.current(census)                                            # this clock hour, kept up to date in memory
    maxima.hour_of(census, start)     # each metric of a (mixed) census in the notion of its own count

The daemon keeps one instance, so each past hour is read once instead of every cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from auditor.core.domain import Census, floor_to
from auditor.store.models import MetricRollup
from auditor.store.repository import Store
from auditor.store.rollups import hour_wherever

HOUR = timedelta(hours=1)
_KEEP = 64


def hour_start(moment: datetime) -> datetime:
    return floor_to(moment, HOUR)


class HourlyMaxima:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._past: dict[tuple[str, str, datetime], dict[str, int]] = {}
        self._current: dict[tuple[str, str, datetime], dict[str, int]] = {}

    def hour(self, source: str, notion: str, start: datetime) -> dict[str, int]:
        """Maximum series per metric in the clock hour beginning at ``start``."""
        key = (source, notion, start)
        if key not in self._past:
            if len(self._past) >= _KEEP:
                del self._past[min(self._past, key=lambda k: k[2])]
            self._past[key] = self._read(source, notion, start)
        return self._past[key]

    def hour_of(self, census: Census, start: datetime) -> dict[str, int]:
        """The maximum of each metric of ``census`` in that hour, in the notion of its count now (like with like)."""
        return _pick(census, lambda notion: self.hour(census.source, notion, start))

    def _read(self, source: str, notion: str, start: datetime) -> dict[str, int]:
        """The hour's rollup, else its raw cycles, else (past the hourly retention) its day's maximum."""
        return hour_wherever(
            start,
            lambda tier, bucket: self._store.rollup_values(source, notion, tier, bucket, MetricRollup.max_series),
            lambda: self._store.window_max(source, notion, start, start + HOUR - timedelta(microseconds=1)),
        )

    def current(self, census: Census) -> dict[str, int]:
        """Maximum series per metric in the clock hour of ``census``, ``census`` included, notion by notion."""
        hour = hour_start(census.collected_at)
        self._current = {key: values for key, values in self._current.items() if key[2] == hour}
        out: dict[str, int] = {}
        own: dict[str, int] = {}
        for notion, metrics in census.by_notion().items():
            key = (census.source, notion.value, hour)
            if key not in self._current:
                self._current[key] = self._store.window_max(key[0], key[1], hour, census.collected_at)
            values = self._current[key]
            for metric in metrics:
                values[metric] = own[metric] = max(values.get(metric, 0), census.metrics[metric])
            out.update(values)
        return out | own


def _pick(census: Census, read: Callable[[str], dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for notion, metrics in census.by_notion().items():
        values = read(notion.value)
        out.update((metric, values[metric]) for metric in metrics if metric in values)
    return out

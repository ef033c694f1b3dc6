"""The history engine: every kind of history is rolled up, pruned and read back by the same code.

    METRICS = History("metrics", MetricRollup, keys=("notion", "metric_id"),
                      figures=("max_series", "min_series", "last_series"), raw=metric_rows, fold=fold_series,
                      raw_tables=(MetricSeries, LabelStat, LabelDrilldown))
    METRICS.roll(conn, source_id, Tier.HOUR, bucket)      # the hour's rollups, from its raw cycles
    METRICS.roll(conn, source_id, Tier.DAY, bucket)       # the day's, from its hours
    METRICS.prune(conn, source_id, Tier.HOUR, cutoff)
    conn.execute(METRICS.in_bucket(Tier.HOUR, hour, MetricRollup.metric_id, MetricRollup.max_series))

A kind says what it keeps: its rollup table (``bucket_start, source_id, tier`` and its key make the
primary key), the figures of a bucket, where its raw cycles are read from and how a bucket's rows fold
into one row per key. The rows a fold sees have one shape whether they come from raw cycles or from
the finer tier, ``(*key, time, *figures)``, so the one fold rolls an hour up and a day. A new kind of
history is a table, a raw reader and a fold, listed in ``compaction.HISTORIES``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select

from auditor.core.domain import Tier, floor_to
from auditor.store.models import Base

_K = TypeVar("_K")
_V = TypeVar("_V")
Key = tuple[Any, ...]
Row = tuple[Any, ...]
"""``(*key, time, *figures)``: one raw cycle's or one finer bucket's figures of one key."""
Figures = tuple[Any, ...]
Fold = Callable[[Iterable[Row]], Mapping[Key, Figures]]
RawRows = Callable[[Connection, int, datetime, datetime], Iterable[Row]]
"""A kind's raw cycles of one source in [start, end) as rows, each raw value as every figure it feeds."""


@dataclass(frozen=True, slots=True)
class History:
    """One kind of history: what it keeps, where from, and how a bucket folds."""

    name: str
    table: type[Base]
    """Its rollups: ``bucket_start, source_id, tier`` and the key make the primary key, then the figures."""
    keys: tuple[str, ...]
    figures: tuple[str, ...]
    raw: RawRows
    fold: Fold
    raw_tables: tuple[type[Base], ...]
    """The per-cycle tables of this kind, dropped (by snapshot) once past the raw retention."""
    order: Callable[[Key], tuple[object, ...]] = tuple
    """Key order of a bucket's rows: written in primary-key order, the index pages stay full."""

    def roll(self, conn: Connection, source_id: int, tier: Tier, bucket: datetime) -> int:
        """Write the rollups of one bucket (an hour from its raw cycles, a day from its hours); the rows written."""
        end = bucket + tier.span
        rows = (
            self.raw(conn, source_id, bucket, end) if tier is Tier.HOUR else self._hours(conn, source_id, bucket, end)
        )
        return self.write(conn, source_id, tier, bucket, self.fold(rows))

    def write(
        self, conn: Connection, source_id: int, tier: Tier, bucket: datetime, rolled: Mapping[Key, Figures]
    ) -> int:
        """One bucket's rollups: key -> figures, in the order of ``figures``."""
        names = ("bucket_start", "source_id", "tier", *self.keys, *self.figures)
        # One flat tuple a row: faster than merging dicts on 10,000 rows a bucket. Strict, so that a fold
        # giving the wrong number of figures fails instead of writing a row short of a column.
        rows = [
            dict(zip(names, (bucket, source_id, tier, *key, *figures), strict=True))
            for key, figures in self._sorted(rolled)
        ]
        if rows:
            conn.execute(insert(self.table), rows)
        return len(rows)

    def _sorted(self, rolled: Mapping[Key, Figures]) -> list[tuple[Key, Figures]]:
        order = self.order
        return sorted(rolled.items(), key=lambda item: order(item[0]))

    def _hours(self, conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[Row]:
        """The hourly rollups of [start, end) as the rows of a day's fold."""
        columns = (*self.columns(*self.keys), self.c.bucket_start, *self.columns(*self.figures))
        return conn.execute(self.in_span(Tier.HOUR, start, end, *columns).where(self.c.source_id == source_id))

    def prune(self, conn: Connection, source_id: int, tier: Tier, cutoff: datetime) -> int:
        """Drop a tier's rollups older than ``cutoff``; the rows dropped."""
        c = self.c
        statement = delete(self.table).where(c.source_id == source_id, c.tier == tier, c.bucket_start < cutoff)
        return int(conn.execute(statement).rowcount or 0)

    def oldest(self, conn: Connection, source_id: int, tier: Tier) -> datetime | None:
        """The start of the oldest bucket of ``tier`` kept."""
        query = select(func.min(self.c.bucket_start)).where(*self.of(tier), self.c.source_id == source_id)
        return conn.execute(query).scalar_one_or_none()

    @property
    def c(self) -> Any:
        """The rollup table's columns (any table with ``bucket_start``, ``source_id``, ``tier``, key and figures)."""
        return self.table.__table__.c

    def columns(self, *names: str) -> list[Any]:
        return [self.c[name] for name in names]

    def of(self, tier: Tier) -> tuple[ColumnElement[bool], ...]:
        return (self.c.tier == tier,)

    def in_bucket(self, tier: Tier, bucket: datetime, *columns: Any) -> Select[Any]:
        """``columns`` of one bucket's rollups (a reader adds its source and key conditions)."""
        return select(*columns).where(*self.of(tier), self.c.bucket_start == bucket)

    def in_buckets(self, tier: Tier, buckets: Sequence[datetime], *columns: Any) -> Select[Any]:
        """``columns`` of the rollups of some buckets, named: aligned buckets let a reader probe the primary key."""
        return select(*columns).where(*self.of(tier), self.c.bucket_start.in_(buckets))

    def in_span(self, tier: Tier, start: datetime, end: datetime, *columns: Any) -> Select[Any]:
        """``columns`` of the rollups of ``tier`` whose bucket starts in [start, end)."""
        c = self.c
        return select(*columns).where(*self.of(tier), c.bucket_start >= start, c.bucket_start < end)


def covering(at: datetime) -> Iterator[tuple[Tier, datetime]]:
    """The buckets holding ``at``, finest first: where a cycle past its raw retention is read back from."""
    for tier in Tier:
        yield tier, floor_to(at, tier.span)


def hour_wherever(
    start: datetime, rolled: Callable[[Tier, datetime], dict[_K, _V]], raw: Callable[[], dict[_K, _V]]
) -> dict[_K, _V]:
    """One clock hour's figures wherever compaction has left them: its rollup, else its raw cycles, else (past
    the hourly retention) its day's rollup. ``rolled(tier, bucket)`` reads a rollup, ``raw()`` the cycles."""
    return rolled(Tier.HOUR, start) or raw() or rolled(Tier.DAY, floor_to(start, Tier.DAY.span))

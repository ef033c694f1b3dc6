"""The metric history: what its rollups keep (``METRICS``), and reading it (a metric over time, window maxima,
hourly trends), raw rows then rollups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, SmallInteger, case, func, select, type_coerce

from auditor.core.domain import (
    Census,
    HistoryPoint,
    Tier,
    ceil_to,
    floor_seconds,
)
from auditor.store.errors import translate_errors
from auditor.store.models import (
    NOTIONS,
    TIER_SPANS,
    LabelDrilldown,
    LabelStat,
    MetricName,
    MetricRollup,
    MetricSeries,
    Snapshot,
    Source,
)
from auditor.store.names import MetricNames
from auditor.store.rollups import Figures, History, Key, Row
from auditor.store.sql import IN_CHUNK, STATUS_OK, chunks, counted_as

# A raw row's notion: its own in a mixed cycle, else its cycle's. Resolved in SQL: no Python call per row.
_ROW_NOTION = case(
    dict(enumerate(NOTIONS, start=1)),
    value=type_coerce(MetricSeries.notion, SmallInteger),
    else_=Snapshot.notion,
)


def metric_rows(conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[Row]:
    """(notion, metric id, time, series, series, series) of the successful cycles in [start, end).

    Change-only cycles hold only what changed, which leaves an hour's maximum, minimum and last as they
    are; a count of 0 (a metric gone) is no figure.
    """
    series = MetricSeries.series
    query = (
        select(_ROW_NOTION, MetricSeries.metric_id, Snapshot.collected_at, series, series, series)
        .join(Snapshot, Snapshot.id == MetricSeries.snapshot_id)
        .where(Snapshot.source_id == source_id, Snapshot.status == STATUS_OK)
        .where(Snapshot.collected_at >= start, Snapshot.collected_at < end, series > 0)
    )
    return conn.execute(query)


def fold_series(rows: Iterable[Row]) -> dict[Key, Figures]:
    """One bucket's maximum, minimum and last (the newest row's) per (notion, metric)."""
    figures: dict[Key, list[Any]] = {}
    for notion, metric_id, at, high, low, last in rows:
        current = figures.get((notion, metric_id))
        if current is None:
            figures[(notion, metric_id)] = [high, low, last, at]
        else:
            current[0], current[1] = max(current[0], high), min(current[1], low)
            if at >= current[3]:
                current[2], current[3] = last, at
    return {key: (f[0], f[1], f[2]) for key, f in figures.items()}


METRICS = History(
    "metrics",
    MetricRollup,
    keys=("notion", "metric_id"),
    figures=("max_series", "min_series", "last_series"),
    raw=metric_rows,
    fold=fold_series,
    raw_tables=(MetricSeries, LabelStat, LabelDrilldown),
    order=lambda key: (NOTIONS.index(key[0]), key[1]),
)


class HistoryReader:
    def __init__(self, engine: Engine, names: MetricNames) -> None:
        self.engine = engine
        self.names = names

    def window_max(self, source: str, notion: str, start: datetime, end: datetime) -> dict[str, int]:
        """Maximum series per metric over the successful snapshots of ``notion`` in [start, end]."""
        query = (
            select(MetricName.name, func.max(MetricSeries.series))
            .join(MetricSeries, MetricSeries.metric_id == MetricName.id)
            .join(Snapshot, Snapshot.id == MetricSeries.snapshot_id)
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.name == source, Snapshot.status == STATUS_OK, counted_as(notion))
            .where(Snapshot.collected_at >= start, Snapshot.collected_at <= end, MetricSeries.series > 0)
            .group_by(MetricName.name)
        )
        with translate_errors("reading history"), self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(query)}

    def hourly_max(
        self, source: str, notion: str, metrics: Sequence[str], since: datetime, bucket: float = 3600.0
    ) -> dict[str, list[tuple[float, float]]]:
        """metric -> [(bucket start as unix seconds, maximum series in it)], oldest first; hourly buckets by default.

        Driven by the metric ids (index ``metric_id, snapshot_id``), so the cost follows the metrics
        asked for, not the size of the census.
        """
        out: dict[str, dict[float, float]] = {}
        with translate_errors("reading history"), self.engine.connect() as conn:
            source_id = conn.execute(select(Source.id).where(Source.name == source)).scalar_one_or_none()
            ids = self.names.known(conn, metrics)
            names = {metric_id: name for name, metric_id in ids.items()}
            for chunk in chunks(list(names), IN_CHUNK):
                query = (
                    select(MetricSeries.metric_id, Snapshot.collected_at, MetricSeries.series)
                    .join(Snapshot, Snapshot.id == MetricSeries.snapshot_id)
                    .where(MetricSeries.metric_id.in_(chunk), Snapshot.source_id == source_id)
                    .where(Snapshot.status == STATUS_OK, counted_as(notion), Snapshot.collected_at >= since)
                    .where(MetricSeries.series > 0)
                )
                rows: Iterable[Any] = conn.execute(query)
                if bucket >= 3600:  # hours whose raw rows are pruned live on in the hourly rollups
                    rows = chain(rows, _rollups_of(conn, source_id, Tier.HOUR, notion, chunk, since=since))
                for metric_id, at, series in rows:
                    hour = floor_seconds(at.timestamp(), bucket)
                    buckets = out.setdefault(names[metric_id], {})
                    buckets[hour] = max(buckets.get(hour, 0), float(series))
        return {name: sorted(buckets.items()) for name, buckets in out.items()}

    def trends(
        self, census: Census, metrics: Sequence[str], since: datetime, bucket: float = 3600.0
    ) -> dict[str, list[tuple[float, float]]]:
        """``hourly_max`` of each metric in the notion of its count in ``census``: like with like."""
        out: dict[str, list[tuple[float, float]]] = {}
        for notion, names in census.by_notion(metrics).items():
            out.update(self.hourly_max(census.source, notion.value, names, since, bucket))
        return out

    def history(self, source: str, metric: str, since: datetime) -> list[HistoryPoint]:
        """Series of ``metric`` in every successful snapshot since ``since``, oldest first.

        Once a metric has been seen, a later snapshot without it counts 0 (it vanished);
        snapshots before its first appearance are left out. Where the raw rows are pruned, the
        hourly (then daily) rollups give one point per bucket: its maximum.
        """
        present = (
            select(MetricSeries.snapshot_id, MetricSeries.series)
            .join(MetricName, MetricName.id == MetricSeries.metric_id)
            .where(MetricName.name == metric)
            .subquery()
        )
        raw_cycles = (Source.name == source, Snapshot.status == STATUS_OK, Snapshot.raw_pruned.is_(False))
        first_seen = (
            select(func.min(Snapshot.collected_at))
            .join(Source, Source.id == Snapshot.source_id)
            .join(present, present.c.snapshot_id == Snapshot.id)
            .where(*raw_cycles, present.c.series > 0)
        )
        # A cycle's base is in its own clock hour: one hour before ``since`` holds every base needed.
        cycles = (
            select(Snapshot.id, Snapshot.collected_at, Snapshot.base_id, present.c.series)
            .join(Source, Source.id == Snapshot.source_id)
            .outerjoin(present, present.c.snapshot_id == Snapshot.id)
            .where(*raw_cycles, Snapshot.collected_at >= since - timedelta(hours=1))
            .order_by(Snapshot.collected_at, Snapshot.id)
        )
        with translate_errors("reading history"), self.engine.connect() as conn:
            seen = conn.execute(first_seen).scalar()
            raw = _forward_filled(conn.execute(cycles).all(), max(since, seen) if seen else None)
            older = self._rollup_points(conn, source, metric, since, raw[0].collected_at if raw else None)
        return older + raw

    def _rollup_points(
        self, conn: Connection, source: str, metric: str, since: datetime, before: datetime | None
    ) -> list[HistoryPoint]:
        """Hourly points before ``before``, and daily points before the first hourly one."""
        points: list[HistoryPoint] = []
        source_id = conn.execute(select(Source.id).where(Source.name == source)).scalar_one_or_none()
        ids = self.names.known(conn, [metric])
        if source_id is None or not ids:
            return points
        for tier in Tier:
            rows = [
                (at, series)
                for notion in NOTIONS
                for _, at, series in _rollups_of(
                    conn, source_id, tier, notion, list(ids.values()), since=since, before=before
                )
            ]
            found = [HistoryPoint(at, int(n), tier) for at, n in sorted(rows)]
            points = found + points
            before = found[0].collected_at if found else before
        return points


def _forward_filled(cycles: Sequence[Any], since: datetime | None) -> list[HistoryPoint]:
    """(id, time, base id, series or None) rows, oldest first -> a point per cycle from ``since``.

    A cycle without a row kept its base's value; a keyframe without one did not have the metric.
    """
    if since is None:
        return []
    values: dict[int, int] = {}
    points = []
    for cycle_id, at, base_id, series in cycles:
        value = int(series) if series is not None else values.get(base_id, 0) if base_id is not None else 0
        values[cycle_id] = value
        if at >= since:
            points.append(HistoryPoint(at, value))
    return points


def _rollups_of(
    conn: Connection,
    source_id: int | None,
    tier: Tier,
    notion: str,
    metric_ids: Sequence[int],
    *,
    since: datetime,
    before: datetime | None = None,
) -> Iterable[tuple[int, datetime, int]]:
    """(metric id, bucket start, max) of some metrics over time, by probing the primary key bucket by bucket.

    Buckets are aligned to the hour or the day, so the reader can name them: that is what lets the
    table do without a (metric, bucket) index.
    """
    key = (MetricRollup.source_id == source_id, MetricRollup.notion == notion)
    span = TIER_SPANS[tier]
    if before is None:  # up to the newest bucket stored: the database, not the wall clock, says where to stop
        newest = conn.execute(select(func.max(MetricRollup.bucket_start)).where(*key, *METRICS.of(tier))).scalar()
        if newest is None:
            return
        before = newest + span
    bucket, buckets = ceil_to(since, span), []
    while bucket < before:
        buckets.append(bucket)
        bucket += span
    columns = METRICS.columns("metric_id", "bucket_start", "max_series")
    for bucket_chunk in chunks(buckets, IN_CHUNK):
        query = METRICS.in_buckets(tier, bucket_chunk, *columns).where(*key, MetricRollup.metric_id.in_(metric_ids))
        yield from ((int(m), at, int(n)) for m, at, n in conn.execute(query))

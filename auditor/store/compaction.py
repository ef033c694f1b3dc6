"""Compaction: roll raw cycles up into hours and hours into days, then apply each tier's retention.

    keep = Retention(raw=timedelta(days=1), hour=timedelta(days=14), day=timedelta(days=400))
    result = compact(store, now, keep, monotonic=clock.monotonic)

Each bucket is rolled up in its own short transaction together with the progress marker, so an
interrupted run loses nothing and the next one resumes where it stopped; raw rows are deleted only
once their hour is rolled up, hour rows only once their day is. The daemon runs it as its own
scheduled job: it never holds a lock a cycle waits on for long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, null, select, update

from auditor.core.domain import Tier, floor_to
from auditor.store.errors import translate_errors
from auditor.store.job_rollups import roll_jobs
from auditor.store.models import (
    NOTIONS,
    TIER_SPANS,
    JobRollup,
    JobSeries,
    LabelDrilldown,
    LabelStat,
    MetricHeadActive,
    MetricJob,
    MetricRollup,
    MetricSeries,
    RollupProgress,
    Snapshot,
    Source,
    TargetSeries,
)
from auditor.store.repository import STATUS_OK, Store
from auditor.store.sql import rolled_until
from auditor.store.usage import prune_usage

log = logging.getLogger(__name__)
HOUR, DAY = Tier.HOUR, Tier.DAY
SPAN = TIER_SPANS
CLOSE_GRACE = timedelta(minutes=5)
"""A bucket is rolled up this long after it ends, so that a late cycle still lands in it."""


@dataclass(frozen=True, slots=True)
class Retention:
    raw: timedelta
    hour: timedelta
    day: timedelta


@dataclass
class CompactionResult:
    hours: int = 0
    days: int = 0
    raw_snapshots_pruned: int = 0
    rollups_pruned: int = 0
    complete: bool = True


def compact(
    store: Store, now: datetime, retention: Retention, *, monotonic: Callable[[], float], budget_seconds: float = 120.0
) -> CompactionResult:
    """Roll up and prune every source, within ``budget_seconds`` of ``monotonic`` (the rest waits for the next run)."""
    result = CompactionResult()
    ends = monotonic() + budget_seconds

    def in_time() -> bool:
        return monotonic() < ends

    with translate_errors("reading sources"), store.engine.connect() as conn:
        source_ids = list(conn.execute(select(Source.id)).scalars())
    for source_id in source_ids:
        result.hours += _roll(store, source_id, HOUR, now, in_time)
        result.days += _roll(store, source_id, DAY, now, in_time)
        _prune(store, source_id, now, retention, result)
    result.complete = in_time()
    return result


def bucket_of(moment: datetime, tier: Tier) -> datetime:
    return floor_to(moment, SPAN[tier])


def _roll(store: Store, source_id: int, tier: Tier, now: datetime, in_time: Callable[[], bool]) -> int:
    done = 0
    with translate_errors("reading compaction progress"), store.engine.connect() as conn:
        start = rolled_until(conn, source_id, tier) or _oldest(conn, source_id, tier)
    if start is None:
        return 0
    bucket = bucket_of(start, tier)
    while bucket + SPAN[tier] + CLOSE_GRACE <= now and in_time():
        with translate_errors(f"rolling up the {tier} of {bucket:%Y-%m-%d %H:%M}"), store.engine.begin() as conn:
            _roll_bucket(conn, source_id, tier, bucket)
            roll_jobs(conn, source_id, tier, bucket)
            mark_rolled(conn, source_id, tier, bucket + SPAN[tier])
        bucket += SPAN[tier]
        done += 1
    return done


def _oldest(conn: Connection, source_id: int, tier: Tier) -> datetime | None:
    if tier == HOUR:
        query = select(func.min(Snapshot.collected_at)).where(Snapshot.source_id == source_id)
    else:
        query = select(func.min(MetricRollup.bucket_start)).where(
            MetricRollup.source_id == source_id, MetricRollup.tier == HOUR
        )
    return conn.execute(query).scalar_one_or_none()


def _roll_bucket(conn: Connection, source_id: int, tier: Tier, bucket: datetime) -> None:
    """One bucket's max, min and last per (notion, metric), computed from the finer tier."""
    end = bucket + SPAN[tier]
    figures: dict[tuple[str, int], list[int]] = {}
    for cycle_notion, row_notion, metric_id, at, high, low, last in _finer(conn, source_id, tier, bucket, end):
        notion = row_notion or cycle_notion
        current = figures.get((notion, metric_id))
        if current is None:
            figures[(notion, metric_id)] = [high, low, last, at]
        else:
            current[0], current[1] = max(current[0], high), min(current[1], low)
            if at >= current[3]:
                current[2], current[3] = last, at
    write_rollups(conn, source_id, tier, bucket, {key: (f[0], f[1], f[2]) for key, f in figures.items()})


def write_rollups(
    conn: Connection, source_id: int, tier: Tier, bucket: datetime, figures: dict[tuple[str, int], tuple[int, int, int]]
) -> None:
    """One bucket's rollups: (notion, metric id) -> (max, min, last)."""
    rows = [
        {"source_id": source_id, "tier": tier, "notion": notion, "bucket_start": bucket, "metric_id": metric_id,
         "max_series": high, "min_series": low, "last_series": last}
        for (notion, metric_id), (high, low, last) in sorted(figures.items(), key=_key_order)
    ]  # fmt: skip
    if rows:
        conn.execute(insert(MetricRollup), rows)


def _key_order(item: tuple[tuple[str, int], tuple[int, int, int]]) -> tuple[int, int]:
    """Rows in primary-key order: appended at the index's edge, its pages stay full."""
    (notion, metric_id), _ = item
    return NOTIONS.index(notion), metric_id


def _finer(conn: Connection, source_id: int, tier: Tier, start: datetime, end: datetime) -> Iterable[tuple]:  # type: ignore[type-arg]
    """(cycle notion, row notion, metric id, time, max, min, last) rows of the tier below, in [start, end).

    A raw row of a mixed cycle carries its own notion; every other row has its cycle's.
    """
    if tier == HOUR:
        query = (
            select(
                Snapshot.notion,
                MetricSeries.notion,
                MetricSeries.metric_id,
                Snapshot.collected_at,
                MetricSeries.series,
                MetricSeries.series,
                MetricSeries.series,
            )
            .join(Snapshot, Snapshot.id == MetricSeries.snapshot_id)
            .where(Snapshot.source_id == source_id, Snapshot.status == STATUS_OK)
            .where(Snapshot.collected_at >= start, Snapshot.collected_at < end, MetricSeries.series > 0)
        )
    else:
        query = (
            select(
                MetricRollup.notion,
                null(),
                MetricRollup.metric_id,
                MetricRollup.bucket_start,
                MetricRollup.max_series,
                MetricRollup.min_series,
                MetricRollup.last_series,
            )
            .where(MetricRollup.source_id == source_id, MetricRollup.tier == HOUR)
            .where(MetricRollup.bucket_start >= start, MetricRollup.bucket_start < end)
        )
    return conn.execute(query)


def mark_rolled(conn: Connection, source_id: int, tier: Tier, until: datetime) -> None:
    """Compaction has rolled ``tier`` up to ``until``: it resumes from there."""
    updated = conn.execute(
        update(RollupProgress)
        .where(RollupProgress.source_id == source_id, RollupProgress.tier == tier)
        .values(rolled_until=until)
    )
    if updated.rowcount == 0:
        conn.execute(insert(RollupProgress).values(source_id=source_id, tier=tier, rolled_until=until))


def _prune(store: Store, source_id: int, now: datetime, retention: Retention, result: CompactionResult) -> None:
    with translate_errors("pruning history"), store.engine.begin() as conn:
        hours_done = rolled_until(conn, source_id, HOUR)
        days_done = rolled_until(conn, source_id, DAY)
        if hours_done is not None:
            # Whole hours only: a cycle's rows may be the changes to a keyframe earlier in its hour.
            cutoff = bucket_of(min(now - retention.raw, hours_done), HOUR)
            result.raw_snapshots_pruned += _prune_raw(conn, source_id, cutoff)
        if days_done is not None:
            result.rollups_pruned += _prune_tier(conn, source_id, HOUR, min(now - retention.hour, days_done))
        result.rollups_pruned += _prune_tier(conn, source_id, DAY, now - retention.day)
        prune_usage(conn, source_id, (now - retention.day).date())
        doomed = select(Snapshot.id).where(Snapshot.source_id == source_id, Snapshot.collected_at < now - retention.day)
        conn.execute(delete(Snapshot).where(Snapshot.id.in_(doomed)))


def _prune_raw(conn: Connection, source_id: int, cutoff: datetime) -> int:
    """Per-metric rows of cycles older than ``cutoff``; the cycle rows (head stats, status) stay."""
    old = select(Snapshot.id).where(
        Snapshot.source_id == source_id, Snapshot.collected_at < cutoff, Snapshot.raw_pruned.is_(False)
    )
    ids = list(conn.execute(old).scalars())
    if not ids:
        return 0
    for model in (MetricSeries, LabelStat, LabelDrilldown, JobSeries, TargetSeries, MetricJob, MetricHeadActive):
        conn.execute(delete(model).where(model.snapshot_id.in_(ids)))
    conn.execute(update(Snapshot).where(Snapshot.id.in_(ids)).values(raw_pruned=True))
    return len(ids)


def _prune_tier(conn: Connection, source_id: int, tier: Tier, cutoff: datetime) -> int:
    """A tier's rollups older than ``cutoff`` (the job rollups with them; the count is the metric rows')."""
    conn.execute(
        delete(JobRollup).where(
            JobRollup.source_id == source_id, JobRollup.tier == tier, JobRollup.bucket_start < cutoff
        )
    )
    statement = delete(MetricRollup).where(
        MetricRollup.source_id == source_id, MetricRollup.tier == tier, MetricRollup.bucket_start < cutoff
    )
    return int(conn.execute(statement).rowcount or 0)

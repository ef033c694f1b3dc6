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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from auditor.core.domain import Tier, floor_to
from auditor.store.errors import translate_errors
from auditor.store.histograms import HISTOGRAMS
from auditor.store.history import METRICS
from auditor.store.jobs import JOBS
from auditor.store.models import TIER_SPANS, RollupProgress, Snapshot, Source
from auditor.store.repository import Store
from auditor.store.rollups import History
from auditor.store.sql import rolled_until
from auditor.store.usage import prune_usage

log = logging.getLogger(__name__)
HOUR, DAY = Tier.HOUR, Tier.DAY
SPAN = TIER_SPANS
CLOSE_GRACE = timedelta(minutes=5)
"""A bucket is rolled up this long after it ends, so that a late cycle still lands in it."""
HISTORIES: tuple[History, ...] = (METRICS, JOBS, HISTOGRAMS)
"""Every kind of history, rolled up bucket by bucket in one transaction and pruned together."""


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
            for history in HISTORIES:
                history.roll(conn, source_id, tier, bucket)
            mark_rolled(conn, source_id, tier, bucket + SPAN[tier])
        bucket += SPAN[tier]
        done += 1
    return done


def _oldest(conn: Connection, source_id: int, tier: Tier) -> datetime | None:
    """Where a tier never rolled up starts: the first cycle (hours), the first hour kept (days)."""
    if tier == HOUR:
        query = select(func.min(Snapshot.collected_at)).where(Snapshot.source_id == source_id)
        return conn.execute(query).scalar_one_or_none()
    return min((at for h in HISTORIES if (at := h.oldest(conn, source_id, HOUR)) is not None), default=None)


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
    """The per-cycle rows of every kind for cycles older than ``cutoff``; the cycle rows (head stats, status) stay."""
    old = select(Snapshot.id).where(
        Snapshot.source_id == source_id, Snapshot.collected_at < cutoff, Snapshot.raw_pruned.is_(False)
    )
    ids = list(conn.execute(old).scalars())
    if not ids:
        return 0
    for history in HISTORIES:
        for model in history.raw_tables:
            conn.execute(delete(model).where(model.__table__.c.snapshot_id.in_(ids)))
    conn.execute(update(Snapshot).where(Snapshot.id.in_(ids)).values(raw_pruned=True))
    return len(ids)


def _prune_tier(conn: Connection, source_id: int, tier: Tier, cutoff: datetime) -> int:
    """Every kind's rollups of a tier older than ``cutoff``; the count is the metric rows'."""
    pruned = {history.name: history.prune(conn, source_id, tier, cutoff) for history in HISTORIES}
    return pruned[METRICS.name]

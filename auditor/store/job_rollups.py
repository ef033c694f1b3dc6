"""The job census' rollups: each job's hour (from its raw cycles) and day (from its hours), for compaction.

Per job and bucket: series (max, min, last), churn (the sum of its cycles' ``series_added``), targets
and limits (last), and the largest target's maximum, which the time-to-``sample_limit`` forecast fits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from auditor.core.domain import Tier
from auditor.store.jobs import JobRows, replay
from auditor.store.models import TIER_SPANS, JobRollup, Snapshot
from auditor.store.sql import STATUS_OK


@dataclass(slots=True)
class JobBucket:
    """One job over one bucket, as its rollup row keeps it."""

    max_series: int
    min_series: int
    last_series: int
    series_added: int
    targets: int
    max_target_series: int
    limits: str | None

    def add(self, later: JobBucket) -> None:
        """Fold a later cycle (or finer bucket) of the same job into this one."""
        self.max_series = max(self.max_series, later.max_series)
        self.min_series = min(self.min_series, later.min_series)
        self.last_series, self.targets, self.limits = later.last_series, later.targets, later.limits
        self.series_added += later.series_added
        self.max_target_series = max(self.max_target_series, later.max_target_series)


FIELDS = tuple(f.name for f in fields(JobBucket))


def roll_jobs(conn: Connection, source_id: int, tier: Tier, bucket: datetime) -> None:
    """Write the job rollups of one bucket (hour: from raw cycles; day: from hours)."""
    end = bucket + TIER_SPANS[tier]
    parts = _raw_cycles(conn, source_id, bucket, end) if tier == Tier.HOUR else _hours(conn, source_id, bucket, end)
    buckets: dict[str, JobBucket] = {}
    for job, part in parts:
        if job in buckets:
            buckets[job].add(part)
        else:
            buckets[job] = part
    rows = [
        {"bucket_start": bucket, "source_id": source_id, "tier": tier, "job": job, **_fields(b)}
        for job, b in sorted(buckets.items())
    ]
    if rows:
        conn.execute(insert(JobRollup), rows)


def _fields(b: JobBucket) -> dict[str, Any]:
    return {name: getattr(b, name) for name in FIELDS}


def cycle_buckets(rows: JobRows) -> Iterable[tuple[str, JobBucket]]:
    """One cycle's jobs, each as a bucket of one."""
    largest: dict[str, int] = {}
    for (job, _), (series, _) in rows.targets.items():
        largest[job] = max(largest.get(job, 0), series)
    for job, (series, targets, added, limits) in rows.jobs.items():
        yield job, JobBucket(series, series, series, added, targets, largest.get(job, 0), limits)


def raw_cycles(conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[tuple[datetime, JobRows]]:
    """Each job census of ``source_id`` in [start, end), whole, oldest first (``start`` on an hour)."""
    query = (
        select(Snapshot.id, Snapshot.jobs_base_id, Snapshot.collected_at)
        .where(Snapshot.source_id == source_id, Snapshot.status == STATUS_OK, Snapshot.job_count.is_not(None))
        .where(Snapshot.collected_at >= start, Snapshot.collected_at < end, Snapshot.raw_pruned.is_(False))
        .order_by(Snapshot.collected_at, Snapshot.id)
    )
    cycles = conn.execute(query).all()
    times = {snapshot_id: at for snapshot_id, _, at in cycles}
    for snapshot_id, rows in replay(conn, [(snapshot_id, base_id) for snapshot_id, base_id, _ in cycles]):
        yield times[snapshot_id], rows


def _raw_cycles(conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[tuple[str, JobBucket]]:
    for _, rows in raw_cycles(conn, source_id, start, end):
        yield from cycle_buckets(rows)


def _hours(conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[tuple[str, JobBucket]]:
    columns = [getattr(JobRollup, name) for name in FIELDS]
    query = (
        select(JobRollup.job, *columns)
        .where(JobRollup.source_id == source_id, JobRollup.tier == Tier.HOUR)
        .where(JobRollup.bucket_start >= start, JobRollup.bucket_start < end)
        .order_by(JobRollup.bucket_start)
    )
    for job, *figures in conn.execute(query):
        yield job, JobBucket(*figures)

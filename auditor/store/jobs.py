"""The job census in the store: written with its cycle (change-only rows between keyframes), read back,
and what its rollups keep (``JOBS``).

A job census is stored like the metric census: a keyframe holds every job and listed target, the
cycles after it in the same clock hour only what changed (``series = -1`` for what went away), and
a cycle past its raw retention is read back from its hour's (else its day's) rollup. Per job and
bucket the rollup keeps its series (max, min, last), churn (the sum of its cycles' ``series_added``),
targets and limits (last), and the largest target's maximum, which the time-to-``sample_limit``
forecast fits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Select, insert, select

from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.store.errors import translate_errors
from auditor.store.models import (
    JobRollup,
    JobSeries,
    MetricHeadActive,
    MetricJob,
    Snapshot,
    Source,
    TargetSeries,
)
from auditor.store.rollups import Figures, History, Key, Row, covering
from auditor.store.sql import STATUS_OK, base_chain, changed_rows

GONE = -1
"""The ``series`` of a change row whose job or target is no longer in the census."""

JobRow = tuple[int, int, int, str | None]
"""(series, targets, series added, limits as JSON)."""
TargetRow = tuple[int, int]
"""(series, series added)."""
_K = TypeVar("_K")
_R = TypeVar("_R", JobRow, TargetRow)


@dataclass
class JobRows:
    """A job census as the rows the store keeps: what change-only cycles are computed against."""

    jobs: dict[str, JobRow] = field(default_factory=dict)
    targets: dict[tuple[str, str], TargetRow] = field(default_factory=dict)

    @classmethod
    def of(cls, census: JobCensus) -> JobRows:
        rows = cls()
        for j in census.jobs.values():
            limits = None if j.limits is None else json.dumps(j.limits, sort_keys=True)
            rows.jobs[j.job[:255]] = (j.series, j.targets, j.series_added, limits)
            for t in j.largest_targets:
                rows.targets[(j.job[:255], t.instance[:255])] = (t.series, t.series_added)
        return rows

    def changes_since(self, before: JobRows) -> JobRows:
        """What changed from ``before``; a job or target that went away gets a ``GONE`` row."""
        return JobRows(
            changed_rows(before.jobs, self.jobs, (GONE, 0, 0, None)),
            changed_rows(before.targets, self.targets, (GONE, 0)),
        )

    def apply(self, changes: JobRows) -> JobRows:
        """This census with ``changes`` (a cycle's change rows) applied."""
        return JobRows(_applied(self.jobs, changes.jobs), _applied(self.targets, changes.targets))

    def census(self, truncated: int = 0) -> JobCensus:
        by_job: dict[str, list[TargetStats]] = {}
        for (job, instance), (series, added) in self.targets.items():
            by_job.setdefault(job, []).append(TargetStats(instance, series, added))
        jobs = {
            job: JobStats(job, series, targets, added,
                          tuple(sorted(by_job.get(job, []), key=lambda t: (-t.series, t.instance))),
                          None if limits is None else json.loads(limits))
            for job, (series, targets, added, limits) in self.jobs.items()
        }  # fmt: skip
        known = all(j.limits is not None for j in jobs.values())
        return JobCensus(jobs, truncated, config_known=known)


def _applied(base: dict[_K, _R], changes: dict[_K, _R]) -> dict[_K, _R]:
    out = base | changes
    return {key: row for key, row in out.items() if row[0] != GONE}


def insert_jobs(conn: Connection, snapshot_id: int, census: JobCensus, rows: JobRows) -> None:
    """A cycle's job rows (whole, or its changes), attribution and stale-series gap."""
    _insert(conn, JobSeries, [
        {"snapshot_id": snapshot_id, "job": job, "series": series, "targets": targets, "series_added": added,
         "limits": limits}
        for job, (series, targets, added, limits) in rows.jobs.items()
    ])  # fmt: skip
    _insert(conn, TargetSeries, [
        {"snapshot_id": snapshot_id, "job": job, "instance": instance, "series": series, "series_added": added}
        for (job, instance), (series, added) in rows.targets.items()
    ])  # fmt: skip
    _insert(conn, MetricHeadActive, [
        {"snapshot_id": snapshot_id, "metric": metric[:255], "head_series": head, "active_series": active}
        for metric, (head, active) in census.head_active.items()
    ])  # fmt: skip
    _insert(conn, MetricJob, [
        {"snapshot_id": snapshot_id, "metric": metric[:255], "job": job[:255], "series": series}
        for metric, by_job in census.attribution.items() for job, series in by_job.items()
    ])  # fmt: skip


def _insert(
    conn: Connection,
    model: type[JobSeries | TargetSeries | MetricJob | MetricHeadActive],
    rows: list[dict[str, object]],
) -> None:
    if rows:
        conn.execute(insert(model), rows)


def change_rows(conn: Connection, snapshot_ids: Sequence[int]) -> dict[int, JobRows]:
    """The job and target rows each of ``snapshot_ids`` holds itself (whole or changes)."""
    out = {snapshot_id: JobRows() for snapshot_id in snapshot_ids}
    job_columns = (JobSeries.job, JobSeries.series, JobSeries.targets, JobSeries.series_added, JobSeries.limits)
    job_query = select(JobSeries.snapshot_id, *job_columns).where(JobSeries.snapshot_id.in_(snapshot_ids))
    for snapshot_id, job, series, targets, added, limits in conn.execute(job_query):
        out[snapshot_id].jobs[job] = (series, targets, added, limits)
    target_query = select(TargetSeries.snapshot_id, TargetSeries.job, TargetSeries.instance, TargetSeries.series,
                     TargetSeries.series_added).where(TargetSeries.snapshot_id.in_(snapshot_ids))  # fmt: skip
    for snapshot_id, job, instance, series, added in conn.execute(target_query):
        out[snapshot_id].targets[(job, instance)] = (series, added)
    return out


def replay(conn: Connection, cycles: Iterable[tuple[int, int | None]]) -> Iterable[tuple[int, JobRows]]:
    """(snapshot id, job base id) of consecutive cycles, oldest first -> each one's whole job rows.

    The cycles must start at a keyframe (or hold their bases): a base is always in its cycle's hour.
    """
    cycles = list(cycles)
    own = change_rows(conn, [snapshot_id for snapshot_id, _ in cycles])
    whole: dict[int, JobRows] = {}
    for snapshot_id, base_id in cycles:
        base = whole.get(base_id, JobRows()) if base_id is not None else JobRows()
        whole[snapshot_id] = base.apply(own[snapshot_id])
        yield snapshot_id, whole[snapshot_id]


class JobReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def jobs_of(self, snapshot_id: int) -> JobCensus:
        with translate_errors("reading the job census"), self.engine.connect() as conn:
            return _jobs_of(conn, snapshot_id)

    def job_census_in(self, source: str, start: datetime, end: datetime, *, earliest: bool) -> JobCensus | None:
        """The earliest (or latest) job census of ``source`` in [start, end]; None when there is none."""
        order = (Snapshot.collected_at, Snapshot.id) if earliest else (Snapshot.collected_at.desc(), Snapshot.id.desc())
        query = (
            _with_jobs(source, Snapshot.id)
            .where(Snapshot.collected_at >= start, Snapshot.collected_at <= end)
            .order_by(*order)
            .limit(1)
        )
        with translate_errors("reading the job census"), self.engine.connect() as conn:
            snapshot_id = conn.execute(query).scalar_one_or_none()
            return None if snapshot_id is None else _jobs_of(conn, snapshot_id)

    def job_cycles(self, source: str, limit: int = 2) -> list[tuple[datetime, JobCensus]]:
        """The newest ``limit`` successful cycles of ``source`` that hold a job census, newest first."""
        query = (
            _with_jobs(source, Snapshot.id, Snapshot.collected_at)
            .order_by(Snapshot.collected_at.desc(), Snapshot.id.desc())
            .limit(limit)
        )
        with translate_errors("reading the job census"), self.engine.connect() as conn:
            return [(at, _jobs_of(conn, snapshot_id)) for snapshot_id, at in conn.execute(query).all()]


def _with_jobs(source: str, *columns: Any) -> Select[Any]:
    """The successful cycles of ``source`` that hold a job census."""
    return (
        select(*columns)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Source.name == source, Snapshot.status == STATUS_OK, Snapshot.job_count.is_not(None))
    )


def _jobs_of(conn: Connection, snapshot_id: int) -> JobCensus:
    cycle = conn.execute(
        select(Snapshot.source_id, Snapshot.collected_at, Snapshot.raw_pruned, Snapshot.jobs_truncated).where(
            Snapshot.id == snapshot_id
        )
    ).one()
    if cycle.raw_pruned:
        return _rolled_census(conn, cycle.source_id, cycle.collected_at, cycle.jobs_truncated)
    chain = base_chain(conn, snapshot_id, Snapshot.jobs_base_id)
    bases = dict(zip(chain, [*chain[1:], None], strict=True))
    whole = dict(replay(conn, [(cycle_id, bases[cycle_id]) for cycle_id in reversed(chain)]))
    census = whole[snapshot_id].census(cycle.jobs_truncated)
    attribution: dict[str, dict[str, int]] = {}
    query = select(MetricJob.metric, MetricJob.job, MetricJob.series).where(MetricJob.snapshot_id == snapshot_id)
    for metric, job, series in conn.execute(query):
        attribution.setdefault(metric, {})[job] = series
    columns = (MetricHeadActive.metric, MetricHeadActive.head_series, MetricHeadActive.active_series)
    rows = conn.execute(select(*columns).where(MetricHeadActive.snapshot_id == snapshot_id))
    head_active = {metric: (head, active) for metric, head, active in rows}
    return JobCensus(census.jobs, census.truncated, census.config_known, attribution, head_active)


def _rolled_census(conn: Connection, source_id: int, at: datetime, truncated: int) -> JobCensus:
    """A pruned cycle's jobs as their hour's (else day's) rollup keeps them: last series, no targets."""
    columns = JOBS.columns("job", "last_series", "targets", "series_added", "limits")
    for tier, bucket in covering(at):
        query = JOBS.in_bucket(tier, bucket, *columns).where(JobRollup.source_id == source_id)
        rows = JobRows(
            {job: (series, targets, added, limits) for job, series, targets, added, limits in conn.execute(query)}
        )
        if rows.jobs:
            return rows.census(truncated)
    return JobCensus(truncated=truncated)


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


def job_rows(conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[Row]:
    """(job, time, series, series, series, series added, targets, largest target, limits) of each raw cycle."""
    for at, rows in raw_cycles(conn, source_id, start, end):
        largest: dict[str, int] = {}
        for (job, _), (series, _) in rows.targets.items():
            largest[job] = max(largest.get(job, 0), series)
        for job, (series, targets, added, limits) in rows.jobs.items():
            yield job, at, series, series, series, added, targets, largest.get(job, 0), limits


def fold_jobs(rows: Iterable[Row]) -> dict[Key, Figures]:
    """One bucket per job: series (max, min, last), churn summed, targets and limits last, largest target's max."""
    out: dict[Key, list[Any]] = {}
    for job, at, high, low, last, added, targets, target_max, limits in rows:
        f = out.get((job,))
        if f is None:
            out[(job,)] = [high, low, last, added, targets, target_max, limits, at]
            continue
        f[0], f[1], f[3], f[5] = max(f[0], high), min(f[1], low), f[3] + added, max(f[5], target_max)
        if at >= f[7]:
            f[2], f[4], f[6], f[7] = last, targets, limits, at
    return {key: tuple(f[:7]) for key, f in out.items()}


JOBS = History(
    "jobs",
    JobRollup,
    keys=("job",),
    figures=("max_series", "min_series", "last_series", "series_added", "targets", "max_target_series", "limits"),
    raw=job_rows,
    fold=fold_jobs,
    raw_tables=(JobSeries, TargetSeries, MetricJob, MetricHeadActive),
)

"""The job census in the store: written with its cycle, read back for ``jobs``, ``check`` and the report."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, insert, select

from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.store.errors import translate_errors
from auditor.store.models import JobSeries, MetricHeadActive, MetricJob, Snapshot, Source, TargetSeries
from auditor.store.sql import STATUS_OK


def insert_jobs(conn: Connection, snapshot_id: int, census: JobCensus) -> None:
    jobs = list(census.jobs.values())
    _insert(conn, JobSeries, [
        {"snapshot_id": snapshot_id, "job": j.job[:255], "series": j.series, "targets": j.targets,
         "series_added": j.series_added, "limits": None if j.limits is None else json.dumps(j.limits, sort_keys=True)}
        for j in jobs
    ])  # fmt: skip
    _insert(conn, TargetSeries, [
        {"snapshot_id": snapshot_id, "job": j.job[:255], "instance": t.instance[:255], "series": t.series,
         "series_added": t.series_added}
        for j in jobs for t in j.largest_targets
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


class JobReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def jobs_of(self, snapshot_id: int) -> JobCensus:
        with translate_errors("reading the job census"), self.engine.connect() as conn:
            return _jobs_of(conn, snapshot_id)

    def job_census_in(self, source: str, start: datetime, end: datetime, *, earliest: bool) -> JobCensus | None:
        """The earliest (or latest) job census of ``source`` in [start, end]; None when there is none."""
        order = Snapshot.collected_at.asc() if earliest else Snapshot.collected_at.desc()
        query = (
            _with_jobs(source, Snapshot.id)
            .where(Snapshot.collected_at >= start, Snapshot.collected_at <= end)
            .order_by(order)
            .limit(1)
        )
        with translate_errors("reading the job census"), self.engine.connect() as conn:
            snapshot_id = conn.execute(query).scalar_one_or_none()
            return None if snapshot_id is None else _jobs_of(conn, snapshot_id)

    def job_cycles(self, source: str, limit: int = 2) -> list[tuple[datetime, JobCensus]]:
        """The newest ``limit`` successful cycles of ``source`` that hold a job census, newest first."""
        query = (
            _with_jobs(source, Snapshot.id, Snapshot.collected_at).order_by(Snapshot.collected_at.desc()).limit(limit)
        )
        with translate_errors("reading the job census"), self.engine.connect() as conn:
            return [(at, _jobs_of(conn, snapshot_id)) for snapshot_id, at in conn.execute(query).all()]


def _with_jobs(source: str, *columns: Any) -> Select[Any]:
    """The successful cycles of ``source`` that hold a job census."""
    return (
        select(*columns)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Source.name == source, Snapshot.status == STATUS_OK)
        .where(select(JobSeries.job).where(JobSeries.snapshot_id == Snapshot.id).exists())
    )


def _jobs_of(conn: Connection, snapshot_id: int) -> JobCensus:
    by_job: dict[str, list[TargetStats]] = {}
    for job, instance, series, added in conn.execute(
        select(TargetSeries.job, TargetSeries.instance, TargetSeries.series, TargetSeries.series_added).where(
            TargetSeries.snapshot_id == snapshot_id
        )
    ):
        by_job.setdefault(job, []).append(TargetStats(instance, series, added))
    columns = (JobSeries.job, JobSeries.series, JobSeries.targets, JobSeries.series_added, JobSeries.limits)
    jobs = {
        job: JobStats(
            job, series, targets, added,
            tuple(sorted(by_job.get(job, []), key=lambda t: (-t.series, t.instance))),
            None if limits is None else json.loads(limits),
        )
        for job, series, targets, added, limits in conn.execute(
            select(*columns).where(JobSeries.snapshot_id == snapshot_id)
        )
    }  # fmt: skip
    attribution: dict[str, dict[str, int]] = {}
    query = select(MetricJob.metric, MetricJob.job, MetricJob.series).where(MetricJob.snapshot_id == snapshot_id)
    for metric, job, series in conn.execute(query):
        attribution.setdefault(metric, {})[job] = series
    columns2 = (MetricHeadActive.metric, MetricHeadActive.head_series, MetricHeadActive.active_series)
    rows = conn.execute(select(*columns2).where(MetricHeadActive.snapshot_id == snapshot_id))
    head_active = {metric: (head, active) for metric, head, active in rows}
    known = all(j.limits is not None for j in jobs.values())
    return JobCensus(jobs, config_known=known, attribution=attribution, head_active=head_active)

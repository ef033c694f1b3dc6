"""Writing cycles: one transaction per cycle, change-only rows between keyframes, under the writer lease."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, insert

from auditor.core.cycle import CycleRecord, Drilldown, Saved, Standby, Stored
from auditor.core.domain import Census, SeriesNotion, Tier, floor_to
from auditor.core.errors import DatabaseUnavailable, SourceHeldElsewhere
from auditor.core.jobs import JobCensus
from auditor.store import findings as finding_store
from auditor.store import rule_versions
from auditor.store.errors import translate_errors
from auditor.store.histograms import insert_histograms
from auditor.store.jobs import JobRows, insert_jobs
from auditor.store.lease import claim
from auditor.store.models import (
    NOTIONS,
    Code,
    LabelDrilldown,
    LabelStat,
    MetricSeries,
    Snapshot,
)
from auditor.store.names import MetricNames
from auditor.store.sql import STATUS_FAILED, STATUS_OK, Rows, changed_rows, source_id_of

_LABEL_NAME_MAX = 1024
_COPY_SERIES = "COPY metric_series (snapshot_id, metric_id, series, notion) FROM STDIN"
_NOTION_CODES = Code(NOTIONS)

KEYFRAME_EVERY = 12

"""A cycle stores every metric at least this often (and at the first cycle of each hour)."""


_R = TypeVar("_R", Rows, JobRows)


@dataclass(frozen=True, slots=True)
class _Written(Generic[_R]):
    """The last cycle this store wrote for one source and series notion (or its jobs): the base of the next one."""

    snapshot_id: int
    at: datetime
    rows: _R
    since_keyframe: int


class CycleWriter:
    """Stores cycles (and failed ones) for every source of one database."""

    def __init__(self, engine: Engine, names: MetricNames) -> None:
        self.engine = engine
        self.names = names
        self._written: dict[tuple[str, str], _Written[Rows]] = {}
        self._written_jobs: dict[str, _Written[JobRows]] = {}

    def save(self, record: CycleRecord) -> Saved:
        """Write one cycle in one transaction: census, drill-down, jobs, findings, rules.

        With a writer, the cycle is written only under the source's writer lease (taken or renewed in the same
        transaction); ``Standby`` when another auditor holds it, and nothing of the cycle is written.
        """
        try:
            return Stored(self._write(record))
        except SourceHeldElsewhere as held:
            return Standby(str(held))

    def _write(self, record: CycleRecord) -> int:
        census, jobs = record.census, record.jobs
        key = (census.source, census.notion.value)
        base = _base_for(self._written.get(key), census.collected_at)
        whole = census_rows(census)
        rows = whole if base is None else _changes(base.rows, whole)
        job_base = _base_for(self._written_jobs.get(census.source), census.collected_at)
        whole_jobs = None if jobs is None else JobRows.of(jobs)
        with self._forgetting_on_failure(), translate_errors("saving a snapshot"), self.engine.begin() as conn:
            source_id = source_id_of(conn, census.source, record.url, census.collected_at)
            if record.writer is not None:
                claim(conn, source_id, record.writer, census.collected_at)
            named = rows.keys() | census.metrics.keys() | record.drilldown.keys()
            new_ids = self.names.ensure(conn, named | {f.subject for f in record.findings or ()})
            ids = self.names.cache | new_ids
            snapshot_id = _insert_snapshot(
                conn, record, source_id, base_id=base.snapshot_id if base else None, extra=_job_fields(jobs, job_base)
            )
            _insert_series(conn, snapshot_id, rows, ids)
            _insert_label_stats(conn, snapshot_id, census.label_stats)
            _insert_drilldown(conn, snapshot_id, record.drilldown, ids)
            if whole_jobs is not None and jobs is not None:
                insert_jobs(
                    conn, snapshot_id, jobs, whole_jobs.changes_since(job_base.rows) if job_base else whole_jobs
                )
            if record.histograms is not None:
                insert_histograms(conn, snapshot_id, record.histograms)
            self._write_versions(conn, record, source_id, ids)
        # Only once committed: the next cycle's changes are computed against what is really stored.
        self.names.cache.update(new_ids)
        self._written[key] = _next(base, snapshot_id, census.collected_at, whole)
        if whole_jobs is not None:
            self._written_jobs[census.source] = _next(job_base, snapshot_id, census.collected_at, whole_jobs)
        return snapshot_id

    @staticmethod
    def _write_versions(conn: Connection, record: CycleRecord, source_id: int, ids: dict[str, int]) -> None:
        """The findings (continued, opened or resolved) and the rule-set version of the cycle."""
        at = record.census.collected_at
        if record.findings is not None:
            finding_store.sync(conn, source_id, ids, record.findings, at)
        if record.rules is not None:
            rule_versions.record(conn, source_id, record.rules, at)

    @contextmanager
    def _forgetting_on_failure(self) -> Iterator[None]:
        """A write that failed leaves the database's state unknown: a server restored empty (or from a backup)
        has none of the names cached or the cycle a change-only row would build on. The next write starts
        over: names looked up again, a keyframe."""
        try:
            yield
        except BaseException:
            self.names.cache.clear()
            self._written.clear()
            self._written_jobs.clear()
            raise

    def save_failure(self, source: str, url: str, at: datetime, *, reason: str, message: str, duration: float) -> int:
        """Record a failed cycle (no counts), so gaps in the history are explained."""
        with translate_errors("recording a failed cycle"), self.engine.begin() as conn:
            values = {
                "source_id": source_id_of(conn, source, url, at),
                "collected_at": at,
                "status": STATUS_FAILED,
                "duration_seconds": duration,
                "error_reason": reason,
                "error_message": message[:2000],
            }
            return int(conn.execute(insert(Snapshot).values(values).returning(Snapshot.id)).scalar_one())


def _next(base: _Written[_R] | None, snapshot_id: int, at: datetime, rows: _R) -> _Written[_R]:
    """What a cycle just written (as changes to ``base``, or a keyframe) leaves for the next one."""
    return _Written(snapshot_id, at, rows, 0 if base is None else base.since_keyframe + 1)


def _base_for(last: _Written[_R] | None, at: datetime) -> _Written[_R] | None:
    """The cycle a new one at ``at`` is stored as changes to; None for a keyframe (every metric)."""
    if last is None or last.since_keyframe + 1 >= KEYFRAME_EVERY or not last.at <= at:
        return None
    hour = Tier.HOUR.span
    return last if floor_to(last.at, hour) == floor_to(at, hour) else None


def _job_fields(jobs: JobCensus | None, base: _Written[JobRows] | None) -> dict[str, Any]:
    if jobs is None:
        return {}
    return {
        "job_count": len(jobs.jobs),
        "jobs_truncated": jobs.truncated,
        "jobs_base_id": base.snapshot_id if base else None,
    }


def census_rows(census: Census) -> Rows:
    """The per-metric rows of a census: the notion goes with each count only when the census is mixed."""
    if census.notion is not SeriesNotion.MIXED:
        return {metric: (series, None) for metric, series in census.metrics.items()}
    return {metric: (series, census.notion_of(metric).value) for metric, series in census.metrics.items()}


def _changes(before: Rows, after: Rows) -> Rows:
    """What changed from ``before`` to ``after`` (a count, or the notion it was counted in); 0 for one that went."""
    return changed_rows(before, after, (0, None))


def _insert_snapshot(
    conn: Connection, record: CycleRecord, source_id: int, *, base_id: int | None, extra: dict[str, Any]
) -> int:
    drilled, skipped = len(record.drilldown), record.drilldown_skipped
    values = snapshot_row(record.census, source_id, record.duration_seconds, drilled=drilled, skipped=skipped)
    values |= {"base_id": base_id}
    values |= extra
    return int(conn.execute(insert(Snapshot).values(values).returning(Snapshot.id)).scalar_one())


def snapshot_row(
    census: Census, source_id: int, duration: float, *, drilled: int = 0, skipped: int = 0
) -> dict[str, Any]:
    """The cycle record of ``census``: what ``save`` writes into ``snapshots``."""
    head = census.head
    return {
        "source_id": source_id,
        "collected_at": census.collected_at,
        "status": STATUS_OK,
        "duration_seconds": duration,
        "prometheus_version": census.prometheus_version[:64],
        "method": census.method.value,
        "notion": census.notion.value,
        "tsdb_truncated": census.tsdb_truncated,
        "metric_count": len(census.metrics),
        "stale_names": census.stale_names,
        "head_series": head.num_series,
        "head_label_pairs": head.num_label_pairs,
        "head_chunks": head.chunk_count,
        "head_min_time_ms": head.min_time_ms,
        "head_max_time_ms": head.max_time_ms,
        "drilldown_metrics": drilled,
        "drilldown_skipped": skipped,
    }


def _insert_series(conn: Connection, snapshot_id: int, metrics: Rows, ids: dict[str, int]) -> None:
    if not metrics:
        return
    if conn.dialect.name == "postgresql":
        _copy_series(conn, snapshot_id, metrics, ids)
        return
    rows = [
        {"snapshot_id": snapshot_id, "metric_id": ids[name], "series": n, "notion": notion}
        for name, (n, notion) in metrics.items()
    ]
    conn.execute(insert(MetricSeries), rows)


def _copy_series(conn: Connection, snapshot_id: int, metrics: Rows, ids: dict[str, int]) -> None:
    """``COPY`` on Postgres: several times faster than a multi-row INSERT for a 10,000-metric census."""
    driver = conn.connection.driver_connection
    if driver is None:  # a connection SQLAlchemy has already invalidated: the write fails and is spooled
        raise DatabaseUnavailable("database unavailable while saving a snapshot: the connection was lost")
    rows = sorted(  # key order: index pages stay full
        (ids[name], series, _NOTION_CODES.process_bind_param(notion, None))
        for name, (series, notion) in metrics.items()
    )
    with driver.cursor() as cursor, cursor.copy(_COPY_SERIES) as copy:
        for metric_id, series, notion in rows:
            copy.write_row((snapshot_id, metric_id, series, notion))


def _insert_label_stats(conn: Connection, snapshot_id: int, stats: dict[str, dict[str, int]]) -> None:
    rows = {
        (list_name, name[:_LABEL_NAME_MAX]): value
        for list_name, values in stats.items()
        for name, value in values.items()
    }
    if rows:
        conn.execute(
            insert(LabelStat),
            [{"snapshot_id": snapshot_id, "list_name": k[0], "name": k[1], "value": v} for k, v in rows.items()],
        )


def _insert_drilldown(conn: Connection, snapshot_id: int, drilldown: Drilldown, ids: dict[str, int]) -> None:
    rows = [
        {
            "snapshot_id": snapshot_id,
            "metric_id": ids[metric],
            "label": label[:255],
            "value_count": stats.values,
            "series_without": stats.series_without,
            "series_with": stats.series_with,
            "shape": stats.shape,
        }
        for metric, labels in drilldown.items()
        for label, stats in labels.items()
    ]
    if rows:
        conn.execute(insert(LabelDrilldown), rows)

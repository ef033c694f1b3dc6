"""Reading the job census over time: hourly maxima per job (and of its largest target), raw then rollups.

    history = JobHistory(engine)
    history.hours("prod", since)            # job -> [(hour, max series, largest target's max)], oldest first
    history.hour_max("prod", hour_start)    # job -> max series in that clock hour (a growth baseline)

Hours compaction has rolled up are read from their rollups; only the hours after it from raw cycles,
so the cost follows the jobs and the hours asked for, not the raw retention.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from auditor.core.domain import Tier, floor_to
from auditor.store.errors import translate_errors
from auditor.store.jobs import JOBS
from auditor.store.models import JobRollup, Source
from auditor.store.rollups import hour_wherever
from auditor.store.sql import rolled_until

HOUR = Tier.HOUR.span
Hours = dict[str, dict[datetime, tuple[int, int]]]
"""job -> hour start -> (max series, the largest target's max)."""


class JobHistory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def hours(self, source: str, since: datetime) -> dict[str, list[tuple[datetime, int, int]]]:
        """job -> [(hour start, max series, the largest target's max)] since ``since``, oldest first."""
        out: Hours = {}
        with translate_errors("reading the job history"), self.engine.connect() as conn:
            source_id = _source_id(conn, source)
            if source_id is None:
                return {}
            rolled = rolled_until(conn, source_id, Tier.HOUR)
            if rolled is not None and rolled > since:
                _merge(out, _rollups(conn, source_id, Tier.HOUR, since, rolled))
            _merge(out, _raw(conn, source_id, floor_to(max(since, rolled or since), HOUR), None))
        return {job: [(at, *figures) for at, figures in sorted(hours.items())] for job, hours in out.items()}

    def hour_max(self, source: str, start: datetime) -> dict[str, int]:
        """Maximum series per job in the clock hour from ``start``: its rollup, else its raw cycles, else its day's."""
        with translate_errors("reading the job history"), self.engine.connect() as conn:
            source_id = _source_id(conn, source)
            if source_id is None:
                return {}
            found = hour_wherever(
                start,
                lambda tier, bucket: _rollups(conn, source_id, tier, bucket, bucket + tier.span),
                lambda: _raw(conn, source_id, start, start + HOUR),
            )
        return {job: max(series for series, _ in hours.values()) for job, hours in found.items()}


def _source_id(conn: Connection, source: str) -> int | None:
    return conn.execute(select(Source.id).where(Source.name == source)).scalar_one_or_none()


def _merge(out: Hours, parts: Hours) -> None:
    for job, hours in parts.items():
        mine = out.setdefault(job, {})
        for at, (series, target) in hours.items():
            old = mine.get(at, (0, 0))
            mine[at] = (max(old[0], series), max(old[1], target))


def _rollups(conn: Connection, source_id: int, tier: Tier, start: datetime, end: datetime) -> Hours:
    columns = JOBS.columns("job", "bucket_start", "max_series", "max_target_series")
    query = JOBS.in_span(tier, start, end, *columns).where(JobRollup.source_id == source_id)
    out: Hours = {}
    for job, at, series, target in conn.execute(query):
        out.setdefault(job, {})[at] = (int(series), int(target))
    return out


def _raw(conn: Connection, source_id: int, start: datetime, end: datetime | None) -> Hours:
    out: Hours = {}
    cycle, hour = None, start
    rows = JOBS.raw(conn, source_id, start, end or datetime.max.replace(tzinfo=start.tzinfo))
    for job, at, series, _, _, _, _, target, _ in rows:
        if at != cycle:  # a cycle's rows come together: its hour is computed once, not per job
            cycle, hour = at, floor_to(at, HOUR)
        mine = out.setdefault(job, {})
        old = mine.get(hour, (0, 0))
        mine[hour] = (max(old[0], series), max(old[1], target))
    return out

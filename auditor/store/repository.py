"""The store: the only code that holds SQL. Domain objects in, domain objects out.

store = Store(make_engine("sqlite:///metrics-auditor.db"))
snapshot_id = store.save_census(census, url="http://localhost:9090", duration_seconds=0.4)
store.history("prod", "user_sessions", since=now - timedelta(days=7))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, Insert, and_, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from auditor.core.domain import (
    Census,
    CensusMethod,
    Finding,
    FindingRow,
    HeadStats,
    HistoryPoint,
    LabelStats,
    SeriesNotion,
    ServerKind,
    SnapshotSummary,
    ceil_to,
    floor_seconds,
    floor_to,
)
from auditor.core.errors import SourceHeldElsewhere
from auditor.core.rulesets import RuleSet
from auditor.core.rulesets import from_json as ruleset_from_json
from auditor.store import findings as finding_store
from auditor.store import rule_versions
from auditor.store.errors import translate_errors
from auditor.store.models import (
    NOTIONS,
    TIER_SPANS,
    Code,
    LabelDrilldown,
    LabelStat,
    MetricName,
    MetricRollup,
    MetricSeries,
    RuleVersion,
    Snapshot,
    Source,
)
from auditor.store.rule_versions import StoredRuleVersion

Drilldown = dict[str, dict[str, LabelStats]]
"""metric -> label -> drill-down figures."""

_T = TypeVar("_T")
STATUS_OK = "ok"
STATUS_FAILED = "failed"
_IN_CHUNK = 900
_LABEL_NAME_MAX = 1024
_COPY_SERIES = "COPY metric_series (snapshot_id, metric_id, series, notion) FROM STDIN"
_NOTION_CODES = Code(NOTIONS)
Rows = dict[str, tuple[int, str | None]]
"""metric -> (series, the notion of its count when the cycle is mixed, else None)."""


KEYFRAME_EVERY = 12
"""A cycle stores every metric at least this often (and at the first cycle of each hour)."""


@dataclass(frozen=True, slots=True)
class _Written:
    """The last cycle this store wrote for one source and series notion: the base of the next one."""

    snapshot_id: int
    at: datetime
    rows: Rows
    since_keyframe: int


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._metric_ids: dict[str, int] = {}
        self._written: dict[tuple[str, str], _Written] = {}

    def ping(self) -> None:
        with translate_errors("checking the connection"), self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def save_census(
        self,
        census: Census,
        url: str,
        duration_seconds: float,
        *,
        drilldown: Drilldown | None = None,
        drilldown_skipped: int = 0,
        findings: Sequence[Finding] | None = None,
        rules: RuleSet | None = None,
        writer: Writer | None = None,
    ) -> int:
        """Write one cycle in one transaction: census, drill-down, findings; returns the snapshot id.

        ``findings=None`` leaves the stored findings alone; a sequence replaces the open ones.
        With ``writer``, the cycle is written only under the source's writer lease (taken or renewed
        in the same transaction); ``SourceHeldElsewhere`` when another auditor holds it.
        """
        drilldown = drilldown or {}
        key = (census.source, census.notion.value)
        base = _base_for(self._written.get(key), census.collected_at)
        whole = census_rows(census)
        rows = whole if base is None else _changes(base.rows, whole)
        with translate_errors("saving a snapshot"), self.engine.begin() as conn:
            source_id = source_id_of(conn, census.source, url, census.collected_at)
            if writer is not None:
                _claim(conn, source_id, writer, census.collected_at)
            new_ids = self._ensure_metric_ids(conn, rows.keys() | census.metrics.keys() | drilldown.keys())
            ids = self._metric_ids | new_ids
            snapshot_id = _insert_snapshot(
                conn, census, source_id, duration_seconds, drilled=len(drilldown), skipped=drilldown_skipped,
                base_id=base.snapshot_id if base else None,
            )  # fmt: skip
            _insert_series(conn, snapshot_id, rows, ids)
            _insert_label_stats(conn, snapshot_id, census.label_stats)
            _insert_drilldown(conn, snapshot_id, drilldown, ids)
            if findings is not None:
                finding_store.sync(conn, source_id, ids, findings, census.collected_at)
            if rules is not None:
                rule_versions.record(conn, source_id, rules, census.collected_at)
        self._metric_ids.update(new_ids)
        since_keyframe = 0 if base is None else base.since_keyframe + 1
        self._written[key] = _Written(snapshot_id, census.collected_at, whole, since_keyframe)
        return snapshot_id

    def rule_versions(self, source: str) -> list[StoredRuleVersion]:
        """Every rule-set version ``source`` has loaded, oldest first."""
        query = (
            select(*rule_versions.COLUMNS)
            .join(Source, Source.id == RuleVersion.source_id)
            .where(Source.name == source)
            .order_by(RuleVersion.first_seen, RuleVersion.id)
        )
        with translate_errors("reading rule versions"), self.engine.connect() as conn:
            return [StoredRuleVersion(*row) for row in conn.execute(query)]

    def rule_version(self, version_id: int) -> tuple[StoredRuleVersion, RuleSet] | None:
        query = select(*rule_versions.COLUMNS, RuleVersion.body).where(RuleVersion.id == version_id)
        with translate_errors("reading a rule version"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        version = StoredRuleVersion(*row[:5])
        return version, ruleset_from_json(json.loads(row[5]), f"@{version_id}")

    def open_findings(self, source: str) -> list[FindingRow]:
        with translate_errors("reading findings"), self.engine.connect() as conn:
            source_id = conn.execute(select(Source.id).where(Source.name == source)).scalar_one_or_none()
            if source_id is None:
                return []
            return [FindingRow(*row) for row in conn.execute(finding_store.open_findings_query(source_id))]

    def window_max(self, source: str, notion: str, start: datetime, end: datetime) -> dict[str, int]:
        """Maximum series per metric over the successful snapshots of ``notion`` in [start, end]."""
        query = (
            select(MetricName.name, func.max(MetricSeries.series))
            .join(MetricSeries, MetricSeries.metric_id == MetricName.id)
            .join(Snapshot, Snapshot.id == MetricSeries.snapshot_id)
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.name == source, Snapshot.status == STATUS_OK, _counted_as(notion))
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
            ids = self._known_ids(conn, metrics)
            names = {metric_id: name for name, metric_id in ids.items()}
            for chunk in _chunks(list(names), _IN_CHUNK):
                query = (
                    select(MetricSeries.metric_id, Snapshot.collected_at, MetricSeries.series)
                    .join(Snapshot, Snapshot.id == MetricSeries.snapshot_id)
                    .where(MetricSeries.metric_id.in_(chunk), Snapshot.source_id == source_id)
                    .where(Snapshot.status == STATUS_OK, _counted_as(notion), Snapshot.collected_at >= since)
                    .where(MetricSeries.series > 0)
                )
                rows: Iterable[Any] = conn.execute(query)
                if bucket >= 3600:  # hours whose raw rows are pruned live on in the hourly rollups
                    rows = chain(rows, _rollups_of(conn, source_id, "hour", notion, chunk, since=since))
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

    def _known_ids(self, conn: Connection, metrics: Iterable[str]) -> dict[str, int]:
        """Ids of the metrics the dictionary holds (unknown names are left out)."""
        if not self._metric_ids:
            self._metric_ids = dict(conn.execute(select(MetricName.name, MetricName.id)).all())
        return {m: self._metric_ids[m] for m in metrics if m in self._metric_ids}

    def drilldown(self, snapshot_id: int) -> Drilldown:
        query = (
            select(MetricName.name, LabelDrilldown.label, LabelDrilldown.value_count, LabelDrilldown.series_without)
            .join(MetricName, MetricName.id == LabelDrilldown.metric_id)
            .where(LabelDrilldown.snapshot_id == snapshot_id)
        )
        out: Drilldown = {}
        with translate_errors("reading the drill-down"), self.engine.connect() as conn:
            for metric, label, values, without in conn.execute(query):
                out.setdefault(metric, {})[label] = LabelStats(int(values), None if without is None else int(without))
        return out

    def latest_census(self, source: str) -> tuple[int, Census] | None:
        """The newest successful snapshot of ``source``, as a census."""
        return self.census_in(source)

    def census_in(
        self, source: str, start: datetime | None = None, end: datetime | None = None, *, earliest: bool = False
    ) -> tuple[int, Census] | None:
        """The newest (or ``earliest``) successful snapshot of ``source`` in [start, end], as a census."""
        order = (Snapshot.collected_at, Snapshot.id) if earliest else (Snapshot.collected_at.desc(), Snapshot.id.desc())
        query = (
            select(Snapshot)
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.name == source, Snapshot.status == STATUS_OK)
            .order_by(*order)
            .limit(1)
        )
        if start is not None:
            query = query.where(Snapshot.collected_at >= start)
        if end is not None:
            query = query.where(Snapshot.collected_at <= end)
        with translate_errors("reading the newest snapshot"), Session(self.engine) as session:
            snapshot = session.scalars(query).first()
            if snapshot is None:
                return None
            census = Census(
                source=source,
                collected_at=snapshot.collected_at,
                prometheus_version=snapshot.prometheus_version or "",
                method=CensusMethod(snapshot.method or CensusMethod.COUNT_BY_NAME),
                notion=SeriesNotion(snapshot.notion or SeriesNotion.ACTIVE),
                head=HeadStats(
                    snapshot.head_series or 0,
                    snapshot.head_label_pairs or 0,
                    snapshot.head_chunks or 0,
                    snapshot.head_min_time_ms or 0,
                    snapshot.head_max_time_ms or 0,
                ),
                metrics={},
                tsdb_truncated=snapshot.tsdb_truncated,
                stale_names=snapshot.stale_names,
                # Only VictoriaMetrics counts the series of a day: the notion tells the server apart.
                server=ServerKind.VICTORIAMETRICS if snapshot.notion == SeriesNotion.DAY else ServerKind.PROMETHEUS,
            )
            snapshot_id, pruned = snapshot.id, snapshot.raw_pruned
        rows = self._rollup_rows(source, census) if pruned else self.metric_rows(snapshot_id)
        metrics = {name: series for name, (series, _) in rows.items()}
        head = frozenset(name for name, (_, notion) in rows.items() if notion == SeriesNotion.HEAD)
        census = replace(census, metrics=metrics, head_metrics=head)
        if pruned:
            return snapshot_id, census
        return snapshot_id, replace(census, label_stats=self.label_stats(snapshot_id))

    def _rollup_rows(self, source: str, census: Census) -> Rows:
        if census.notion is not SeriesNotion.MIXED:
            values = self.rollup_census(source, census.notion.value, census.collected_at)
            return {metric: (series, None) for metric, series in values.items()}
        rows: Rows = {}
        for notion in (SeriesNotion.ACTIVE, SeriesNotion.HEAD):  # a metric on both sides that hour: its head count
            values = self.rollup_census(source, notion.value, census.collected_at)
            rows.update((metric, (series, notion.value)) for metric, series in values.items())
        return rows

    def rollup_census(self, source: str, notion: str, at: datetime) -> dict[str, int]:
        """The census of a pruned cycle as the rollups keep it: the last value of its hour (else of its day)."""
        for tier, seconds in (("hour", 3600), ("day", 86400)):
            bucket = datetime.fromtimestamp(at.timestamp() // seconds * seconds, UTC)
            values = self.rollup_values(source, notion, tier, bucket, MetricRollup.last_series)
            if values:
                return values
        return {}

    def rollup_values(self, source: str, notion: str, tier: str, bucket: datetime, column: Any) -> dict[str, int]:
        """One rollup column (max, min or last) of every metric in one bucket."""
        query = (
            select(MetricName.name, column)
            .join(MetricRollup, MetricRollup.metric_id == MetricName.id)
            .join(Source, Source.id == MetricRollup.source_id)
            .where(Source.name == source, MetricRollup.tier == tier, MetricRollup.notion == notion)
            .where(MetricRollup.bucket_start == bucket)
        )
        with translate_errors("reading rollups"), self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(query)}

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
        ids = self._known_ids(conn, [metric])
        if source_id is None or not ids:
            return points
        for tier in ("hour", "day"):
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

    def metric_known(self, metric: str) -> bool:
        with translate_errors("reading metric names"), self.engine.connect() as conn:
            return conn.execute(select(MetricName.id).where(MetricName.name == metric)).first() is not None

    def release(self, source: str, writer: Writer) -> None:
        """Hand the writer lease back (a one-off ``audit`` when it is done, a daemon when it stops)."""
        with translate_errors("releasing the writer lease"), self.engine.begin() as conn:
            conn.execute(
                update(Source)
                .where(Source.name == source, Source.writer == writer.holder)
                .values(writer=None, writer_until=None)
            )

    def sources(self) -> list[str]:
        with translate_errors("reading sources"), self.engine.connect() as conn:
            return list(conn.execute(select(Source.name).order_by(Source.name)).scalars())

    def snapshots(self, source: str, limit: int = 100) -> list[SnapshotSummary]:
        """The newest snapshots of ``source``, newest first."""
        query = (
            select(
                Snapshot.id,
                Source.name,
                Snapshot.collected_at,
                Snapshot.status,
                Snapshot.method,
                Snapshot.head_series,
                Snapshot.metric_count,
            )
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.name == source)
            .order_by(Snapshot.collected_at.desc(), Snapshot.id.desc())
            .limit(limit)
        )
        with translate_errors("reading snapshots"), self.engine.connect() as conn:
            return [SnapshotSummary(*row) for row in conn.execute(query)]

    def last_success(self, source: str) -> datetime | None:
        query = (
            select(func.max(Snapshot.collected_at))
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.name == source, Snapshot.status == STATUS_OK)
        )
        with translate_errors("reading the last successful cycle"), self.engine.connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def metric_counts(self, snapshot_id: int) -> dict[str, int]:
        """The census of a cycle: its keyframe, then the changes of each cycle up to it."""
        return {name: series for name, (series, _) in self.metric_rows(snapshot_id).items()}

    def metric_rows(self, snapshot_id: int) -> Rows:
        """The census of a cycle with the notion of each count (mixed cycles), rebuilt from its keyframe."""
        with translate_errors("reading a snapshot"), self.engine.connect() as conn:
            chain = [snapshot_id]
            while (base := conn.execute(select(Snapshot.base_id).where(Snapshot.id == chain[-1])).scalar()) is not None:
                chain.append(base)
            query = (
                select(MetricSeries.snapshot_id, MetricName.name, MetricSeries.series, MetricSeries.notion)
                .join(MetricName, MetricName.id == MetricSeries.metric_id)
                .where(MetricSeries.snapshot_id.in_(chain))
            )
            found = conn.execute(query).all()
        rows: Rows = {}
        for cycle in reversed(chain):
            rows.update((name, (int(n), notion)) for snapshot, name, n, notion in found if snapshot == cycle)
        return {name: row for name, row in rows.items() if row[0]}

    def label_stats(self, snapshot_id: int) -> dict[str, dict[str, int]]:
        query = select(LabelStat.list_name, LabelStat.name, LabelStat.value).where(LabelStat.snapshot_id == snapshot_id)
        stats: dict[str, dict[str, int]] = {}
        with translate_errors("reading label stats"), self.engine.connect() as conn:
            for list_name, name, value in conn.execute(query):
                stats.setdefault(list_name, {})[name] = int(value)
        return stats

    def metric_ids(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Ids of ``names``, inserting the ones the dictionary lacks (in ``conn``'s transaction, uncached)."""
        wanted = list(names)
        return {**self._known_ids(conn, wanted), **self._ensure_metric_ids(conn, wanted)}

    def _ensure_metric_ids(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Ids of names not yet cached, inserting the ones the dictionary lacks."""
        self._known_ids(conn, ())
        missing = [name for name in names if name not in self._metric_ids]
        if not missing:
            return {}
        conn.execute(_insert_ignore(conn, MetricName), [{"name": name} for name in missing])
        found: dict[str, int] = {}
        for chunk in _chunks(missing, _IN_CHUNK):
            query = select(MetricName.name, MetricName.id).where(MetricName.name.in_(chunk))
            found.update((name, id_) for name, id_ in conn.execute(query))
        return found


def source_id_of(conn: Connection, name: str, url: str, now: datetime) -> int:
    """The id of source ``name``, created (with ``url``) if it is new."""
    conn.execute(_insert_ignore(conn, Source), [{"name": name, "url": url, "created_at": now}])
    return int(conn.execute(select(Source.id).where(Source.name == name)).scalar_one())


@dataclass(frozen=True, slots=True)
class Writer:
    """An auditor's claim on a source: ``holder`` names it, ``lease`` is how long a claim lasts unrenewed."""

    holder: str
    lease: timedelta


def _claim(conn: Connection, source_id: int, writer: Writer, now: datetime) -> None:
    """Take or renew the writer lease; the row lock it takes orders two auditors' transactions."""
    free = or_(Source.writer.is_(None), Source.writer == writer.holder, Source.writer_until < now)
    claimed = conn.execute(
        update(Source).where(Source.id == source_id, free).values(writer=writer.holder, writer_until=now + writer.lease)
    )
    if claimed.rowcount != 1:
        holder, until = conn.execute(select(Source.writer, Source.writer_until).where(Source.id == source_id)).one()
        raise SourceHeldElsewhere(f"{holder} writes this source (lease until {until:%Y-%m-%d %H:%M:%S}Z)")


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


def _base_for(last: _Written | None, at: datetime) -> _Written | None:
    """The cycle a new one at ``at`` is stored as changes to; None for a keyframe (every metric)."""
    if last is None or last.since_keyframe + 1 >= KEYFRAME_EVERY or not last.at <= at:
        return None
    hour = TIER_SPANS["hour"]
    return last if floor_to(last.at, hour) == floor_to(at, hour) else None


def census_rows(census: Census) -> Rows:
    """The per-metric rows of a census: the notion goes with each count only when the census is mixed."""
    if census.notion is not SeriesNotion.MIXED:
        return {metric: (series, None) for metric, series in census.metrics.items()}
    return {metric: (series, census.notion_of(metric).value) for metric, series in census.metrics.items()}


def _changes(before: Rows, after: Rows) -> Rows:
    """What changed from ``before`` to ``after`` (a count, or the notion it was counted in); 0 for one that went."""
    changed = {metric: row for metric, row in after.items() if before.get(metric) != row}
    return changed | dict.fromkeys(before.keys() - after.keys(), (0, None))


def _counted_as(notion: str) -> ColumnElement[bool]:
    """Rows counted in ``notion``: their own notion in a mixed cycle, else their cycle's."""
    return or_(MetricSeries.notion == notion, and_(MetricSeries.notion.is_(None), Snapshot.notion == notion))


def _insert_snapshot(
    conn: Connection,
    census: Census,
    source_id: int,
    duration: float,
    *,
    drilled: int,
    skipped: int,
    base_id: int | None = None,
) -> int:
    values = snapshot_row(census, source_id, duration, drilled=drilled, skipped=skipped) | {"base_id": base_id}
    return int(conn.execute(insert(Snapshot).values(values).returning(Snapshot.id)).scalar_one())


def snapshot_row(
    census: Census, source_id: int, duration: float, *, drilled: int = 0, skipped: int = 0
) -> dict[str, Any]:
    """The cycle record of ``census``: what ``save_census`` writes into ``snapshots``."""
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
    assert driver is not None
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
        }
        for metric, labels in drilldown.items()
        for label, stats in labels.items()
    ]
    if rows:
        conn.execute(insert(LabelDrilldown), rows)


def _insert_ignore(conn: Connection, model: type[Source] | type[MetricName]) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING``: sidecars sharing a database may race on the same name."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(model).on_conflict_do_nothing()
    return statement


def _rollups_of(
    conn: Connection,
    source_id: int | None,
    tier: str,
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
    key = (MetricRollup.source_id == source_id, MetricRollup.tier == tier, MetricRollup.notion == notion)
    span = TIER_SPANS[tier]
    if before is None:  # up to the newest bucket stored: the database, not the wall clock, says where to stop
        newest = conn.execute(select(func.max(MetricRollup.bucket_start)).where(*key)).scalar()
        if newest is None:
            return
        before = newest + span
    bucket, buckets = ceil_to(since, span), []
    while bucket < before:
        buckets.append(bucket)
        bucket += span
    for bucket_chunk in _chunks(buckets, _IN_CHUNK):
        query = select(MetricRollup.metric_id, MetricRollup.bucket_start, MetricRollup.max_series).where(
            *key, MetricRollup.bucket_start.in_(bucket_chunk), MetricRollup.metric_id.in_(metric_ids)
        )
        yield from ((int(m), at, int(n)) for m, at, n in conn.execute(query))


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    return (items[i : i + size] for i in range(0, len(items), size))

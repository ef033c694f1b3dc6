"""Reading cycles back: sources, snapshots, a cycle's census (rebuilt from its keyframe or its rollups)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from auditor.core.cycle import Drilldown
from auditor.core.domain import (
    Census,
    CensusMethod,
    HeadStats,
    LabelStats,
    SeriesNotion,
    ServerKind,
    SnapshotSummary,
    Tier,
)
from auditor.store.errors import translate_errors
from auditor.store.history import METRICS
from auditor.store.models import (
    LabelDrilldown,
    LabelStat,
    MetricName,
    MetricRollup,
    MetricSeries,
    Snapshot,
    Source,
)
from auditor.store.rollups import covering
from auditor.store.sql import STATUS_OK, Rows, base_chain


class SnapshotReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
            census = _census_of(source, snapshot)
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
        for tier, bucket in covering(at):
            values = self.rollup_values(source, notion, tier, bucket, MetricRollup.last_series)
            if values:
                return values
        return {}

    def rollup_values(self, source: str, notion: str, tier: Tier, bucket: datetime, column: Any) -> dict[str, int]:
        """One rollup column (max, min or last) of every metric in one bucket."""
        query = (
            METRICS.in_bucket(tier, bucket, MetricName.name, column)
            .join(MetricRollup, MetricRollup.metric_id == MetricName.id)
            .join(Source, Source.id == MetricRollup.source_id)
            .where(Source.name == source, MetricRollup.notion == notion)
        )
        with translate_errors("reading rollups"), self.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(query)}

    def metric_counts(self, snapshot_id: int) -> dict[str, int]:
        """The census of a cycle: its keyframe, then the changes of each cycle up to it."""
        return {name: series for name, (series, _) in self.metric_rows(snapshot_id).items()}

    def metric_rows(self, snapshot_id: int) -> Rows:
        """The census of a cycle with the notion of each count (mixed cycles), rebuilt from its keyframe."""
        with translate_errors("reading a snapshot"), self.engine.connect() as conn:
            chain = base_chain(conn, snapshot_id, Snapshot.base_id)
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

    def drilldown(self, snapshot_id: int) -> Drilldown:
        query = (
            select(
                MetricName.name,
                LabelDrilldown.label,
                LabelDrilldown.value_count,
                LabelDrilldown.series_without,
                LabelDrilldown.series_with,
                LabelDrilldown.shape,
            )
            .join(MetricName, MetricName.id == LabelDrilldown.metric_id)
            .where(LabelDrilldown.snapshot_id == snapshot_id)
        )
        out: Drilldown = {}
        with translate_errors("reading the drill-down"), self.engine.connect() as conn:
            for metric, label, values, without, with_, shape in conn.execute(query):
                out.setdefault(metric, {})[label] = LabelStats(int(values), _int(without), _int(with_), shape)
        return out


def _census_of(source: str, snapshot: Snapshot) -> Census:
    """A stored cycle's census without its rows (the caller reads them)."""
    return Census(
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


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]

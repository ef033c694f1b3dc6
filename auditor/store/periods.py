"""Queries over a period of one source, for the weekly report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select

from auditor.core.domain import LabelStats, SnapshotRow, Status
from auditor.core.findings import FindingRow
from auditor.store.errors import translate_errors
from auditor.store.models import LabelDrilldown, MetricName, Snapshot, Source, StoredFinding
from auditor.store.repository import Store


def snapshots(store: Store, source: str, start: datetime, end: datetime) -> list[SnapshotRow]:
    """Every cycle of ``source`` in [start, end], failed ones included, oldest first."""
    query = (
        select(
            Snapshot.collected_at, Snapshot.status, Snapshot.error_reason, Snapshot.head_series, Snapshot.tsdb_truncated
        )
        .join(Source, Source.id == Snapshot.source_id)
        .where(Source.name == source, Snapshot.collected_at >= start, Snapshot.collected_at <= end)
        .order_by(Snapshot.collected_at, Snapshot.id)
    )
    with translate_errors("reading the period's cycles"), store.engine.connect() as conn:
        return [SnapshotRow(*row) for row in conn.execute(query)]


def findings(store: Store, source: str, start: datetime, end: datetime) -> list[FindingRow]:
    """Findings open at some point of [start, end]."""
    columns = (
        MetricName.name, StoredFinding.kind, StoredFinding.label, StoredFinding.growth_window, StoredFinding.severity,
        StoredFinding.owner, StoredFinding.first_seen, StoredFinding.last_seen, StoredFinding.resolved_at,
        StoredFinding.series, StoredFinding.max_series, StoredFinding.value, StoredFinding.limit_value,
    )  # fmt: skip
    query = (
        select(*columns)
        .join(MetricName, MetricName.id == StoredFinding.metric_id)
        .join(Source, Source.id == StoredFinding.source_id)
        .where(Source.name == source, StoredFinding.first_seen <= end)
        .where(or_(StoredFinding.resolved_at.is_(None), StoredFinding.resolved_at >= start))
        .order_by(StoredFinding.first_seen, MetricName.name)
    )
    with translate_errors("reading the period's findings"), store.engine.connect() as conn:
        return [FindingRow(*list(row)) for row in conn.execute(query)]


def drilldowns(
    store: Store, source: str, metrics: Sequence[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, dict[str, LabelStats]]]]:
    """metric -> [(collected_at, label -> stats)] of the drill-downs in [start, end], oldest first."""
    out: dict[str, dict[datetime, dict[str, LabelStats]]] = {}
    if not metrics:
        return {}
    query = (
        select(
            MetricName.name,
            Snapshot.collected_at,
            LabelDrilldown.label,
            LabelDrilldown.value_count,
            LabelDrilldown.series_without,
            LabelDrilldown.series_with,
            LabelDrilldown.shape,
        )
        .join(LabelDrilldown, LabelDrilldown.metric_id == MetricName.id)
        .join(Snapshot, Snapshot.id == LabelDrilldown.snapshot_id)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Source.name == source, MetricName.name.in_(list(metrics)))
        .where(Snapshot.collected_at >= start, Snapshot.collected_at <= end)
    )
    with translate_errors("reading the period's drill-downs"), store.engine.connect() as conn:
        for metric, at, label, values, without, with_, shape in conn.execute(query):
            out.setdefault(metric, {}).setdefault(at, {})[label] = LabelStats(int(values), without, with_, shape)
    return {metric: sorted(by_time.items()) for metric, by_time in out.items()}


def last_head(store: Store, source: str, start: datetime, end: datetime) -> int | None:
    """Head series of the newest successful cycle in [start, end]."""
    query = (
        select(Snapshot.head_series)
        .join(Source, Source.id == Snapshot.source_id)
        .where(Source.name == source, Snapshot.status == Status.OK)
        .where(Snapshot.collected_at >= start, Snapshot.collected_at <= end)
        .order_by(Snapshot.collected_at.desc())
        .limit(1)
    )
    with translate_errors("reading head series"), store.engine.connect() as conn:
        value = conn.execute(query).scalar_one_or_none()
    return None if value is None else int(value)

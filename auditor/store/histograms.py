"""The histogram inventory in the store: written with the cycle that took it, read back newest first, and what
its rollups keep (``HISTOGRAMS``).

A cycle that took the inventory has a ``histogram_inventories`` row (the server's support for the switch) and a
``histogram_families`` row per family and job. Past the raw retention the families are read back from the hour's
(else the day's) rollup, which keeps per family and job the largest label-set count and the last shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, true

from auditor.core.histograms import Inventory, JobFamily, NativeSupport
from auditor.store.errors import translate_errors
from auditor.store.models import HistogramFamilyRow, HistogramInventoryRow, HistogramRollup, Snapshot, Source
from auditor.store.rollups import Figures, History, Key, Row, covering
from auditor.store.sql import STATUS_OK

SHAPE = ("label_sets", "buckets", "bucket_series", "empty_buckets", "empty_series")


def insert_histograms(conn: Connection, snapshot_id: int, inventory: Inventory) -> None:
    support = inventory.support
    conn.execute(insert(HistogramInventoryRow).values(
        snapshot_id=snapshot_id, native_histograms=support.native_histograms, switch=support.switch,
        reason=support.reason, skipped=inventory.skipped,
    ))  # fmt: skip
    rows = [
        {"snapshot_id": snapshot_id, "metric": f.metric[:255], "job": f.job[:255], "label_sets": f.label_sets,
         "buckets": f.buckets, "bucket_series": f.bucket_series, "empty_buckets": json.dumps(list(f.empty_buckets)),
         "empty_series": f.empty_series}
        for f in inventory.families
    ]  # fmt: skip
    if rows:
        conn.execute(insert(HistogramFamilyRow), rows)


class HistogramReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def newest(self, source: str, until: datetime | None = None) -> tuple[datetime, Inventory] | None:
        """The newest inventory of ``source`` (taken at ``until`` or before) and when; None when no cycle took one."""
        query = (
            select(Snapshot.id, Snapshot.collected_at, Snapshot.source_id, Snapshot.raw_pruned,
                   Snapshot.prometheus_version, HistogramInventoryRow.native_histograms, HistogramInventoryRow.switch,
                   HistogramInventoryRow.reason, HistogramInventoryRow.skipped)
            .join(HistogramInventoryRow, HistogramInventoryRow.snapshot_id == Snapshot.id)
            .join(Source, Source.id == Snapshot.source_id)
            .where(Source.name == source, Snapshot.status == STATUS_OK)
            .where(Snapshot.collected_at <= until if until is not None else true())
            .order_by(Snapshot.collected_at.desc(), Snapshot.id.desc())
            .limit(1)
        )  # fmt: skip
        with translate_errors("reading the histogram inventory"), self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
            if row is None:
                return None
            snapshot_id, at, source_id, pruned, version, native, switch, reason, skipped = row
            families = _rolled(conn, source_id, at) if pruned else _raw(conn, snapshot_id)
        return at, Inventory(version or "", NativeSupport(native, switch, reason), tuple(families), skipped)


def _family(metric: str, job: str, shape: Iterable[Any]) -> JobFamily:
    label_sets, buckets, bucket_series, empty, empty_series = shape
    return JobFamily(metric, job, int(label_sets), int(buckets), int(bucket_series),
                     tuple(str(b) for b in json.loads(empty)), int(empty_series))  # fmt: skip


def _raw(conn: Connection, snapshot_id: int) -> list[JobFamily]:
    columns = [getattr(HistogramFamilyRow, name) for name in ("metric", "job", *SHAPE)]
    rows = conn.execute(select(*columns).where(HistogramFamilyRow.snapshot_id == snapshot_id))
    return sorted((_family(metric, job, shape) for metric, job, *shape in rows), key=lambda f: (f.metric, f.job))


def _rolled(conn: Connection, source_id: int, at: datetime) -> list[JobFamily]:
    for tier, bucket in covering(at):
        query = HISTOGRAMS.in_bucket(tier, bucket, *HISTOGRAMS.columns("metric", "job", *SHAPE))
        rows = conn.execute(query.where(HistogramRollup.source_id == source_id)).all()
        if rows:
            return sorted((_family(m, j, shape) for m, j, *shape in rows), key=lambda f: (f.metric, f.job))
    return []


def histogram_rows(conn: Connection, source_id: int, start: datetime, end: datetime) -> Iterable[Row]:
    """(metric, job, time, label sets, then the shape) of each raw inventory in [start, end)."""
    shape = [getattr(HistogramFamilyRow, name) for name in SHAPE]
    query = (
        select(HistogramFamilyRow.metric, HistogramFamilyRow.job, Snapshot.collected_at, HistogramFamilyRow.label_sets,
               *shape)
        .join(Snapshot, Snapshot.id == HistogramFamilyRow.snapshot_id)
        .where(Snapshot.source_id == source_id, Snapshot.collected_at >= start, Snapshot.collected_at < end)
        .where(Snapshot.raw_pruned.is_(False))
    )  # fmt: skip
    return conn.execute(query)


def fold_histograms(rows: Iterable[Row]) -> dict[Key, Figures]:
    """One bucket per family and job: the largest label-set count, and the newest shape."""
    out: dict[Key, list[Any]] = {}
    for metric, job, at, high, *shape in rows:
        f = out.get((metric, job))
        if f is None:
            out[(metric, job)] = [high, *shape, at]
            continue
        f[0] = max(f[0], high)
        if at >= f[-1]:
            f[1:] = [*shape, at]
    return {key: tuple(f[:-1]) for key, f in out.items()}


HISTOGRAMS = History(
    "histograms",
    HistogramRollup,
    keys=("metric", "job"),
    figures=("max_label_sets", *SHAPE),
    raw=histogram_rows,
    fold=fold_histograms,
    raw_tables=(HistogramFamilyRow,),
)

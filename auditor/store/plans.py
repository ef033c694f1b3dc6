"""Recorded plans in the store (``plans``): a prediction per source, job and metric, and its last measurement.

ledger.record("prod", url, "checkout", {"checkout_requests_total": 48}, at)   # replaces an older prediction
for plan in ledger.due("prod", limit=50): ...                                  # never measured first
ledger.measured([(plan.id, 47, at)])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from auditor.core.plans import RecordedPlan
from auditor.store.errors import translate_errors
from auditor.store.models import MetricName, PlanRecord, Source
from auditor.store.names import MetricNames
from auditor.store.sql import source_id_of

_COLUMNS = (PlanRecord.id, Source.name, PlanRecord.job, MetricName.name, PlanRecord.predicted_series,
            PlanRecord.recorded_at, PlanRecord.measured_series, PlanRecord.measured_at)  # fmt: skip


class PlanLedger:
    def __init__(self, engine: Engine, names: MetricNames) -> None:
        self.engine = engine
        self.names = names

    def record(self, source: str, url: str, job: str, predicted: Mapping[str, int], at: datetime) -> None:
        """One prediction per metric of ``job``; a newer record replaces an older one and its measurement."""
        if not predicted:
            return
        with translate_errors("recording the plan"), self.engine.begin() as conn:
            source_id = source_id_of(conn, source, url, at)
            ids = self.names.ids(conn, predicted)
            rows = [{"source_id": source_id, "job": job[:255], "metric_id": ids[m], "predicted_series": n,
                     "recorded_at": at, "measured_series": None, "measured_at": None}
                    for m, n in sorted(predicted.items())]  # fmt: skip
            statement = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(PlanRecord)
            replaced = {name: statement.excluded[name] for name in ("predicted_series", "recorded_at",
                                                                    "measured_series", "measured_at")}  # fmt: skip
            upsert: Insert = statement.on_conflict_do_update(
                index_elements=[PlanRecord.source_id, PlanRecord.job, PlanRecord.metric_id], set_=replaced
            )
            conn.execute(upsert, rows)

    def due(self, source: str, limit: int) -> list[RecordedPlan]:
        """The plans to measure this cycle: never measured first, then the least recently measured."""
        query = _select(source).order_by(PlanRecord.measured_at.is_not(None), PlanRecord.measured_at, PlanRecord.id)
        with translate_errors("reading recorded plans"), self.engine.connect() as conn:
            return [_plan(row) for row in conn.execute(query.limit(limit))]

    def all(self, source: str) -> list[RecordedPlan]:
        with translate_errors("reading recorded plans"), self.engine.connect() as conn:
            return [_plan(row) for row in conn.execute(_select(source).order_by(PlanRecord.recorded_at, PlanRecord.id))]

    def measured(self, measurements: Sequence[tuple[int, int, datetime]]) -> None:
        with translate_errors("saving plan measurements"), self.engine.begin() as conn:
            for plan_id, series, at in measurements:
                conn.execute(update(PlanRecord).where(PlanRecord.id == plan_id)
                             .values(measured_series=series, measured_at=at))  # fmt: skip


def _select(source: str) -> Any:
    return (
        select(*_COLUMNS)
        .join(Source, Source.id == PlanRecord.source_id)
        .join(MetricName, MetricName.id == PlanRecord.metric_id)
        .where(Source.name == source)
    )


def _plan(row: Sequence[Any]) -> RecordedPlan:
    id_, source, job, metric, predicted, recorded, measured, measured_at = row
    return RecordedPlan(int(id_), source, job, metric, int(predicted), recorded,
                        None if measured is None else int(measured), measured_at)  # fmt: skip

"""The fix ledger in the store (``fixes``): a remedy is recorded once, then observed every cycle.

ledger.record("prod", url, remedies, at)        # new remedies as proposed; known ones untouched
for fix in ledger.due("prod", limit=50): ...     # the least recently observed first
ledger.save(observed)                            # their new state and measurement
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from auditor.core.fixes import FixState, LedgerFix
from auditor.core.remedies import Action, Remedy
from auditor.store.errors import translate_errors
from auditor.store.models import Fix, MetricName, Source
from auditor.store.names import MetricNames
from auditor.store.sql import source_id_of

_REPRINTED = ("safe", "predicted_series", "proof")
"""What a newer print of a proposed fix replaces; ``series_before`` is the observations' (active series)."""
_COLUMNS = (Fix.id, Source.name, MetricName.name, Fix.label, Fix.action, Fix.state, Fix.safe, Fix.series_before,
            Fix.predicted_series, Fix.proof, Fix.proposed_at, Fix.state_at, Fix.applied_at, Fix.observed_at,
            Fix.measured_series, Fix.duplicates_at_apply, Fix.scraped_before)  # fmt: skip


class FixLedger:
    def __init__(self, engine: Engine, names: MetricNames) -> None:
        self.engine = engine
        self.names = names

    def record(self, source: str, url: str, remedies: Sequence[Remedy], at: datetime) -> None:
        """Each remedy as ``proposed``, once per metric, label and action: while it is still proposed, what the
        newest print says (its safety, proof and prediction) replaces the older; once it moved, nothing does."""
        if not remedies:
            return
        with translate_errors("recording fixes"), self.engine.begin() as conn:
            source_id = source_id_of(conn, source, url, at)
            ids = self.names.ids(conn, {r.metric for r in remedies})
            rows = [_row(source_id, ids[r.metric], r, at) for r in remedies]
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            statement = dialect.insert(Fix)
            newest = {name: statement.excluded[name] for name in _REPRINTED}
            upsert: Insert = statement.on_conflict_do_update(
                index_elements=[Fix.source_id, Fix.metric_id, Fix.label, Fix.action], set_=newest,
                where=Fix.state == FixState.PROPOSED.value,
            )  # fmt: skip
            conn.execute(upsert, rows)

    def due(self, source: str, limit: int) -> list[LedgerFix]:
        """The fixes to observe this cycle: never observed first, then the least recently observed."""
        query = _select(source).order_by(Fix.observed_at.is_not(None), Fix.observed_at, Fix.id).limit(limit)
        with translate_errors("reading fixes"), self.engine.connect() as conn:
            return [_fix(tuple(row)) for row in conn.execute(query)]

    def all(self, source: str) -> list[LedgerFix]:
        """Every fix of the source, oldest first."""
        with translate_errors("reading fixes"), self.engine.connect() as conn:
            return [_fix(tuple(row)) for row in conn.execute(_select(source).order_by(Fix.proposed_at, Fix.id))]

    def save(self, fixes: Sequence[LedgerFix]) -> None:
        with translate_errors("saving fix observations"), self.engine.begin() as conn:
            for fix in fixes:
                conn.execute(update(Fix).where(Fix.id == fix.id).values(
                    state=fix.state.value, state_at=fix.state_at, applied_at=fix.applied_at,
                    observed_at=fix.observed_at, measured_series=fix.measured_series,
                    duplicates_at_apply=fix.duplicates_at_apply, scraped_before=fix.scraped_before,
                    series_before=fix.series_before,
                ))  # fmt: skip


def _select(source: str) -> Any:
    return (
        select(*_COLUMNS)
        .join(Source, Source.id == Fix.source_id)
        .join(MetricName, MetricName.id == Fix.metric_id)
        .where(Source.name == source)
    )


def _row(source_id: int, metric_id: int, r: Remedy, at: datetime) -> dict[str, object]:
    return {
        "source_id": source_id, "metric_id": metric_id, "label": r.label or "", "action": r.action.value,
        "state": FixState.PROPOSED.value, "safe": r.safe, "series_before": r.series_now,
        "predicted_series": r.predicted_series, "proof": r.proof.text, "proposed_at": at, "state_at": at,
    }  # fmt: skip


def _fix(row: Sequence[Any]) -> LedgerFix:
    (id_, source, metric, label, action, state, safe, before, predicted, proof, proposed, state_at, applied,
     observed, measured, duplicates, scraped) = row  # fmt: skip
    return LedgerFix(
        int(id_), source, metric, label, Action(action), FixState(state), bool(safe), int(before),
        None if predicted is None else int(predicted), proof, proposed, state_at, applied, observed,
        None if measured is None else int(measured), duplicates, scraped,
    )  # fmt: skip

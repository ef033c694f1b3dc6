"""Findings across cycles: a finding stays open (first seen .. last seen) until a cycle no longer reports it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from auditor.core.findings import Finding, FindingRow
from auditor.store.errors import translate_errors
from auditor.store.models import MetricName, Source, StoredFinding

_KEY = (MetricName.name, StoredFinding.kind, StoredFinding.label, StoredFinding.growth_window, StoredFinding.severity)
"""The columns that identify a finding across cycles, in ``FindingKey`` order."""


def sync(conn: Connection, source_id: int, ids: dict[str, int], findings: Sequence[Finding], now: datetime) -> None:
    """Continue the open findings reported again, resolve the others, open the new ones."""
    current = {f.identity: f for f in findings}
    query = _open(source_id, StoredFinding.id, *_KEY)
    continued, resolved = [], []
    for row_id, *key in conn.execute(query):
        finding = current.pop(tuple(key), None)
        if finding is None:
            resolved.append({"row_id": row_id, "resolved_at": now})
        else:
            continued.append({"row_id": row_id, "last_seen": now, **_figures(finding)})
    _update(conn, continued)
    _update(conn, resolved)
    new = [
        {**_identity(f, source_id, ids), **_figures(f), "first_seen": now, "last_seen": now} for f in current.values()
    ]
    if new:
        conn.execute(insert(StoredFinding), new)


def _update(conn: Connection, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    values: dict[str, Any] = {name: bindparam(name) for name in rows[0] if name != "row_id"}
    statement = update(StoredFinding).where(StoredFinding.id == bindparam("row_id")).values(values)
    conn.execute(statement.execution_options(synchronize_session=False), rows)


def _identity(finding: Finding, source_id: int, ids: dict[str, int]) -> dict[str, object]:
    _, kind, label, window, severity = finding.identity
    return {
        "source_id": source_id,
        "metric_id": ids[finding.subject],
        "kind": kind,
        "label": label,
        "growth_window": window,
        "severity": severity,
    }


def _figures(finding: Finding) -> dict[str, object]:
    return {
        "owner": finding.owner,
        "series": finding.series,
        "max_series": finding.max_series,
        "value": finding.value,
        "limit_value": finding.limit,
    }


def open_findings_query(source_id: int) -> Any:
    """Open findings as ``FindingRow`` columns (``resolved_at`` is None for each)."""
    life = (StoredFinding.owner, StoredFinding.first_seen, StoredFinding.last_seen, StoredFinding.resolved_at)
    figures = (StoredFinding.series, StoredFinding.max_series, StoredFinding.value, StoredFinding.limit_value)
    return _open(source_id, *_KEY, *life, *figures).order_by(StoredFinding.first_seen, MetricName.name)


def _open(source_id: int, *columns: Any) -> Any:
    """The open (unresolved) findings of a source, with ``columns``."""
    return (
        select(*columns)
        .join(MetricName, MetricName.id == StoredFinding.metric_id)
        .where(StoredFinding.source_id == source_id, StoredFinding.resolved_at.is_(None))
    )


def open_findings(engine: Engine, source: str) -> list[FindingRow]:
    with translate_errors("reading findings"), engine.connect() as conn:
        source_id = conn.execute(select(Source.id).where(Source.name == source)).scalar_one_or_none()
        if source_id is None:
            return []
        return [FindingRow(*row) for row in conn.execute(open_findings_query(source_id))]

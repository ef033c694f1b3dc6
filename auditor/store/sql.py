"""SQL helpers every repository of the store shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Connection, Insert, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute

from auditor.core.domain import Status, Tier
from auditor.store.models import (
    MetricName,
    MetricSeries,
    RollupProgress,
    Snapshot,
    Source,
)

_T = TypeVar("_T")
_K = TypeVar("_K")
_V = TypeVar("_V")
IN_CHUNK = 900
STATUS_OK = Status.OK
STATUS_FAILED = Status.FAILED
Rows = dict[str, tuple[int, str | None]]
"""metric -> (series, the notion of its count when the cycle is mixed, else None)."""


def chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def insert_ignore(conn: Connection, model: type[Source] | type[MetricName]) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING``: sidecars sharing a database may race on the same name."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(model).on_conflict_do_nothing()
    return statement


def counted_as(notion: str) -> ColumnElement[bool]:
    """Rows counted in ``notion``: their own notion in a mixed cycle, else their cycle's."""
    return or_(MetricSeries.notion == notion, and_(MetricSeries.notion.is_(None), Snapshot.notion == notion))


def source_id_of(conn: Connection, name: str, url: str, now: datetime) -> int:
    """The id of source ``name``, created (with ``url``) if it is new."""
    conn.execute(insert_ignore(conn, Source), [{"name": name, "url": url, "created_at": now}])
    return int(conn.execute(select(Source.id).where(Source.name == name)).scalar_one())


def rolled_until(conn: Connection, source_id: int, tier: Tier) -> datetime | None:
    """Up to where compaction has rolled ``tier`` of the source up (None: not yet)."""
    query = select(RollupProgress.rolled_until).where(
        RollupProgress.source_id == source_id, RollupProgress.tier == tier
    )
    return conn.execute(query).scalar_one_or_none()


def changed_rows(before: dict[_K, _V], after: dict[_K, _V], gone: _V) -> dict[_K, _V]:
    """The rows of a change-only cycle: those that differ from ``before``, and ``gone`` for each that went away."""
    changed = {key: row for key, row in after.items() if before.get(key) != row}
    return changed | dict.fromkeys(before.keys() - after.keys(), gone)


def base_chain(conn: Connection, snapshot_id: int, base: InstrumentedAttribute[int | None]) -> list[int]:
    """A change-only cycle and the bases it was written against (``base``: the metric or the job base column),
    newest first down to its keyframe."""
    chain = [snapshot_id]
    while (found := conn.execute(select(base).where(Snapshot.id == chain[-1])).scalar()) is not None:
        chain.append(found)
    return chain

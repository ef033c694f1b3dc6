"""The writer lease of a source: one auditor writes it at a time, the others stand by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, or_, select, update

from auditor.core.cycle import Writer
from auditor.core.errors import SourceHeldElsewhere
from auditor.store.errors import translate_errors
from auditor.store.models import (
    Source,
)


def claim(conn: Connection, source_id: int, writer: Writer, now: datetime) -> None:
    """Take or renew the writer lease; the row lock it takes orders two auditors' transactions."""
    free = or_(Source.writer.is_(None), Source.writer == writer.holder, Source.writer_until < now)
    claimed = conn.execute(
        update(Source).where(Source.id == source_id, free).values(writer=writer.holder, writer_until=now + writer.lease)
    )
    if claimed.rowcount != 1:
        holder, until = conn.execute(select(Source.writer, Source.writer_until).where(Source.id == source_id)).one()
        raise SourceHeldElsewhere(f"{holder} writes this source (lease until {until:%Y-%m-%d %H:%M:%S}Z)")


def release(engine: Engine, source: str, writer: Writer) -> None:
    """Hand the lease back (a one-off ``audit`` when it is done, a daemon when it stops)."""
    with translate_errors("releasing the writer lease"), engine.begin() as conn:
        conn.execute(
            update(Source)
            .where(Source.name == source, Source.writer == writer.holder)
            .values(writer=None, writer_until=None)
        )

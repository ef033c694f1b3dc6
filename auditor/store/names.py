"""The metric-name dictionary: every metric's id, cached per process (names are never renamed or deleted)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from auditor.store.models import MetricName
from auditor.store.sql import chunks, insert_ignore

IN_CHUNK = 900


class MetricNames:
    def __init__(self) -> None:
        self.cache: dict[str, int] = {}

    def known(self, conn: Connection, metrics: Iterable[str]) -> dict[str, int]:
        """Ids of the metrics the dictionary holds (unknown names are left out)."""
        if not self.cache:
            self.cache = dict(conn.execute(select(MetricName.name, MetricName.id)).all())
        return {m: self.cache[m] for m in metrics if m in self.cache}

    def ensure(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Ids of names not yet cached, inserting the ones the dictionary lacks (cached once committed)."""
        self.known(conn, ())
        missing = [name for name in names if name not in self.cache]
        if not missing:
            return {}
        conn.execute(insert_ignore(conn, MetricName), [{"name": name} for name in missing])
        found: dict[str, int] = {}
        for chunk in chunks(missing, IN_CHUNK):
            query = select(MetricName.name, MetricName.id).where(MetricName.name.in_(chunk))
            found.update((name, id_) for name, id_ in conn.execute(query))
        return found

    def ids(self, conn: Connection, names: Iterable[str]) -> dict[str, int]:
        """Ids of ``names``, inserting the ones the dictionary lacks (in ``conn``'s transaction, uncached)."""
        wanted = list(names)
        return {**self.known(conn, wanted), **self.ensure(conn, wanted)}

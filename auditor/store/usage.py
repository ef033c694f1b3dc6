"""Query usage in the store: per day and metric, the reads the query log showed, and the reader's position.

A batch and the position after it are written in one transaction: a line is counted once, whatever fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from auditor.core.label_usage import LabelReads
from auditor.core.usage import LogPosition, LogState, MetricReads, QueryKind, UsageBatch
from auditor.store.errors import translate_errors
from auditor.store.label_usage import label_reads, merge_labels, prune_labels
from auditor.store.models import MetricName, MetricUsage, QueryLogState, Source
from auditor.store.names import MetricNames
from auditor.store.sql import IN_CHUNK, chunks, source_id_of

Reads = dict[tuple[date, str], MetricReads]
_FIGURES = (MetricUsage.metric_id, MetricUsage.api_queries, MetricUsage.rule_queries, MetricUsage.last_api_at,
            MetricUsage.last_rule_at)  # fmt: skip


class UsageStore:
    def __init__(self, engine: Engine, names: MetricNames) -> None:
        self.engine = engine
        self.names = names

    def record(self, source: str, url: str, batch: UsageBatch, at: datetime) -> LogState | None:
        """Add a batch's counts to the days they fall on, and move the position on (one transaction).

        Returns the state after it; None when the read found no file (nothing changes).
        """
        position = batch.position
        if position is None:
            return None
        with translate_errors("recording query usage"), self.engine.begin() as conn:
            source_id = source_id_of(conn, source, url, at)
            reads = _batch_reads(batch)
            if reads:
                ids = self.names.ids(conn, {metric for _, metric in reads})
                _merge(conn, source_id, {(day, ids[metric]): r for (day, metric), r in reads.items()})
                labels = {(day, ids[metric], key): r for (day, metric, key), r in batch.labels.items()}
                merge_labels(conn, source_id, labels)
            return _save_state(conn, source_id, batch, position, at)

    def state(self, source: str) -> LogState | None:
        query = select(QueryLogState).join(Source, Source.id == QueryLogState.source_id).where(Source.name == source)
        with translate_errors("reading the query-log state"), self.engine.connect() as conn:
            s = conn.execute(query).first()
        if s is None:
            return None
        return _state(s._mapping)

    def reads(self, source: str, since: date, until: date | None = None) -> dict[str, MetricReads]:
        """metric -> its reads summed over the days in [since, until] (summed by the database: a row a metric)."""
        query = (
            select(MetricName.name, func.sum(MetricUsage.api_queries), func.sum(MetricUsage.rule_queries),
                   func.max(MetricUsage.last_api_at), func.max(MetricUsage.last_rule_at))
            .join(MetricUsage, MetricUsage.metric_id == MetricName.id)
            .join(Source, Source.id == MetricUsage.source_id)
            .where(Source.name == source, MetricUsage.day >= since)
            .group_by(MetricName.name)
        )  # fmt: skip
        if until is not None:
            query = query.where(MetricUsage.day <= until)
        with translate_errors("reading query usage"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {name: MetricReads(int(api), int(rule), la, lr) for name, api, rule, la, lr in rows}

    def labels(self, source: str, metric: str, since: date, until: date) -> dict[str, LabelReads]:
        """label key -> who read it over the days in [since, until], for one metric."""
        with translate_errors("reading label usage"), self.engine.connect() as conn:
            return label_reads(conn, source, [metric], since, until).get(metric, {})

    def labels_of(
        self, source: str, metrics: Sequence[str], since: date, until: date
    ) -> dict[str, dict[str, LabelReads]]:  # fmt: skip
        """metric -> label key -> who read it over the days in [since, until], for ``metrics``."""
        with translate_errors("reading label usage"), self.engine.connect() as conn:
            return label_reads(conn, source, metrics, since, until)

    def daily(self, source: str, since: date, metric: str | None = None) -> Reads:
        """(day, metric) -> reads, from ``since`` on (one metric, or all)."""
        return self._rows(source, since, None, metric)

    def last_reads(self, source: str) -> dict[str, datetime]:
        """metric -> the last time any query read it, over the whole stored usage."""
        return {metric: last for metric, r in self.reads(source, date.min).items() if (last := r.last) is not None}

    def _rows(self, source: str, since: date, until: date | None, metric: str | None = None) -> Reads:
        query = (
            select(MetricUsage.day, MetricName.name, MetricUsage.api_queries, MetricUsage.rule_queries,
                   MetricUsage.last_api_at, MetricUsage.last_rule_at)
            .join(MetricName, MetricName.id == MetricUsage.metric_id)
            .join(Source, Source.id == MetricUsage.source_id)
            .where(Source.name == source, MetricUsage.day >= since)
        )  # fmt: skip
        if until is not None:
            query = query.where(MetricUsage.day <= until)
        if metric is not None:
            query = query.where(MetricName.name == metric)
        with translate_errors("reading query usage"), self.engine.connect() as conn:
            return {(day, name): MetricReads(api, rule, la, lr) for day, name, api, rule, la, lr in conn.execute(query)}


def prune_usage(conn: Connection, source_id: int, before: date) -> int:
    """Usage rows of days before ``before`` (the daily retention)."""
    statement = delete(MetricUsage).where(MetricUsage.source_id == source_id, MetricUsage.day < before)
    return int(conn.execute(statement).rowcount or 0) + prune_labels(conn, source_id, before)


def _batch_reads(batch: UsageBatch) -> Reads:
    out: Reads = {}
    for (day, metric, kind), n in batch.counts.items():
        last = batch.last[(day, metric, kind)]
        one = MetricReads(n, 0, last, None) if kind is QueryKind.API else MetricReads(0, n, None, last)
        out[(day, metric)] = out.get((day, metric), MetricReads()).plus(one)
    return out


def _merge(conn: Connection, source_id: int, reads: dict[tuple[date, int], MetricReads]) -> None:
    """Add to the stored rows of those days (read, then update or insert: portable across both backends)."""
    stored: dict[tuple[date, int], MetricReads] = {}
    for day in {day for day, _ in reads}:
        ids = [metric_id for d, metric_id in reads if d == day]
        for chunk in chunks(ids, IN_CHUNK):
            query = select(*_FIGURES).where(
                MetricUsage.source_id == source_id, MetricUsage.day == day, MetricUsage.metric_id.in_(chunk)
            )
            for metric_id, api, rule, last_api, last_rule in conn.execute(query):
                stored[(day, metric_id)] = MetricReads(api, rule, last_api, last_rule)
    new = [key for key in reads if key not in stored]
    if new:
        conn.execute(insert(MetricUsage), [_row(source_id, key, reads[key]) for key in sorted(new)])
    for key, before in stored.items():
        total = before.plus(reads[key])
        conn.execute(
            update(MetricUsage)
            .where(MetricUsage.source_id == source_id, MetricUsage.day == key[0], MetricUsage.metric_id == key[1])
            .values(_row(source_id, key, total))
        )


def _row(source_id: int, key: tuple[date, int], r: MetricReads) -> dict[str, object]:
    return {"source_id": source_id, "day": key[0], "metric_id": key[1], "api_queries": r.api,
            "rule_queries": r.rule, "last_api_at": r.last_api, "last_rule_at": r.last_rule}  # fmt: skip


def _state(v: Mapping[Any, Any]) -> LogState:
    """A ``query_log_state`` row (or the values written into one) as the reader's state."""
    return LogState(
        LogPosition(v["path"], v["device"], v["inode"], v["position_bytes"], v["head"]), v["covered_since"],
        v["last_entry_at"], v["lines"], v["own_lines"], v["failures"], v["behind_bytes"], v["read_at"],
    )  # fmt: skip


def _save_state(conn: Connection, source_id: int, batch: UsageBatch, position: LogPosition, at: datetime) -> LogState:
    old = conn.execute(select(QueryLogState).where(QueryLogState.source_id == source_id)).first()
    values = {
        "path": position.path, "device": position.device, "inode": position.inode,
        "position_bytes": position.offset, "head": position.head, "behind_bytes": batch.behind_bytes, "read_at": at,
        "covered_since": batch.earliest if old is None else old.covered_since or batch.earliest,
        "last_entry_at": batch.latest or (old.last_entry_at if old else None),
        "lines": batch.lines + (old.lines if old else 0), "own_lines": batch.own + (old.own_lines if old else 0),
        "failures": batch.failures + (old.failures if old else 0),
    }  # fmt: skip
    if old is None:
        conn.execute(insert(QueryLogState).values(source_id=source_id, **values))
    else:
        conn.execute(update(QueryLogState).where(QueryLogState.source_id == source_id).values(**values))
    return _state(values)

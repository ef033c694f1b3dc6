"""Label usage in the store: per day, metric and label key, who read it (``label_usage``).

Written in the transaction of the metric usage of the same batch, so a line is counted once, labels and all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, delete, insert, select, update

from auditor.core.label_usage import LabelReads, Reader, ReaderKind
from auditor.store.models import LabelUsage, MetricName, Source
from auditor.store.sql import IN_CHUNK, chunks

Key = tuple[date, int, str]
"""(day, metric id, label key)."""


def merge_labels(conn: Connection, source_id: int, reads: dict[Key, LabelReads]) -> None:
    """Add to the stored rows of those days (read, then update or insert: portable across both backends)."""
    stored = _stored(conn, source_id, reads)
    new = sorted(key for key in reads if key not in stored)
    if new:
        conn.execute(insert(LabelUsage), [_row(source_id, key, reads[key]) for key in new])
    for key, before in stored.items():
        day, metric_id, label = key
        conn.execute(
            update(LabelUsage)
            .where(LabelUsage.source_id == source_id, LabelUsage.day == day, LabelUsage.metric_id == metric_id,
                   LabelUsage.label == label)
            .values(_row(source_id, key, before.plus(reads[key])))
        )  # fmt: skip


def label_reads(
    conn: Connection, source: str, metrics: Sequence[str], since: date, until: date
) -> dict[str, dict[str, LabelReads]]:
    """metric -> label key -> its reads over the days in [since, until], newest day's readers first, for
    ``metrics`` (read in chunks: a cycle asks for its few offenders, not the whole log's labels)."""
    out: dict[str, dict[str, LabelReads]] = {}
    for chunk in chunks(sorted(set(metrics)), IN_CHUNK):
        _read_chunk(conn, source, chunk, (since, until), out)
    return out


Stored = dict[str, dict[str, LabelReads]]
"""metric -> label key -> its reads."""


def _read_chunk(conn: Connection, source: str, metrics: Sequence[str], days: tuple[date, date], out: Stored) -> None:
    since, until = days
    query = (
        select(MetricName.name, LabelUsage.label, LabelUsage.api_queries, LabelUsage.rule_queries,
               LabelUsage.last_at, LabelUsage.readers)
        .join(MetricName, MetricName.id == LabelUsage.metric_id)
        .join(Source, Source.id == LabelUsage.source_id)
        .where(Source.name == source, LabelUsage.day >= since, LabelUsage.day <= until)
        .where(MetricName.name.in_(metrics))
        .order_by(LabelUsage.day.desc())
    )  # fmt: skip
    for name, label, api, rule, last, readers in conn.execute(query):
        one = LabelReads(int(api), int(rule), last, _readers(readers))
        keys = out.setdefault(name, {})
        keys[label] = one if label not in keys else keys[label].plus(one)


def prune_labels(conn: Connection, source_id: int, before: date) -> int:
    statement = delete(LabelUsage).where(LabelUsage.source_id == source_id, LabelUsage.day < before)
    return int(conn.execute(statement).rowcount or 0)


def _stored(conn: Connection, source_id: int, reads: dict[Key, LabelReads]) -> dict[Key, LabelReads]:
    stored: dict[Key, LabelReads] = {}
    for day in {day for day, _, _ in reads}:
        ids = sorted({metric_id for d, metric_id, _ in reads if d == day})
        for chunk in chunks(ids, IN_CHUNK):
            query = select(LabelUsage.metric_id, LabelUsage.label, LabelUsage.api_queries, LabelUsage.rule_queries,
                           LabelUsage.last_at, LabelUsage.readers).where(
                LabelUsage.source_id == source_id, LabelUsage.day == day, LabelUsage.metric_id.in_(chunk)
            )  # fmt: skip
            for metric_id, label, api, rule, last, readers in conn.execute(query):
                if (day, metric_id, label) in reads:
                    stored[(day, metric_id, label)] = LabelReads(api, rule, last, _readers(readers))
    return stored


def _row(source_id: int, key: Key, r: LabelReads) -> dict[str, object]:
    readers = json.dumps([[x.kind.value, x.name, x.fingerprint] for x in r.readers], ensure_ascii=False)
    return {"source_id": source_id, "day": key[0], "metric_id": key[1], "label": key[2], "api_queries": r.api,
            "rule_queries": r.rule, "last_at": r.last, "readers": readers}  # fmt: skip


def _readers(text: str) -> tuple[Reader, ...]:
    try:
        rows = json.loads(text)
        return tuple(Reader(ReaderKind(kind), str(name), str(fp)) for kind, name, fp in rows)
    except (ValueError, TypeError):
        return ()  # a row another version wrote: its counts still say the label is read

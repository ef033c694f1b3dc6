"""History written the way the store lays it out, without running its cycles.

For the benchmarks (90 days of history in minutes, not 26,000 real cycles) and for importing history:
the records of cycles whose raw rows are past retention, and hourly or daily rollups, through the same
row builders the store and the compaction job use (the history engine's).

backfill.cycle_records(store, "eu1", "http://prometheus:9090", censuses)    # raw rows already pruned
backfill.rollups(store, "eu1", "hour", "head", [(bucket, {"up": (3, 1, 2)})])
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from itertools import islice

from sqlalchemy import insert

from auditor.core.domain import Census, Tier
from auditor.store.compaction import SPAN, mark_rolled
from auditor.store.errors import translate_errors
from auditor.store.history import METRICS
from auditor.store.models import Snapshot
from auditor.store.repository import Store, snapshot_row, source_id_of

BATCH = 5_000


def cycle_records(store: Store, source: str, url: str, censuses: Iterable[Census]) -> int:
    """Cycle records (head stats, status) of censuses whose per-metric rows are gone; returns how many."""
    written, batches = 0, iter(censuses)
    with translate_errors("backfilling cycle records"), store.engine.begin() as conn:
        source_id: int | None = None
        while batch := list(islice(batches, BATCH)):
            source_id = source_id or source_id_of(conn, source, url, batch[0].collected_at)
            conn.execute(insert(Snapshot), [snapshot_row(c, source_id, 0.0) | {"raw_pruned": True} for c in batch])
            written += len(batch)
    return written


def rollups(
    store: Store,
    source: str,
    tier: Tier,
    notion: str,
    buckets: Iterable[tuple[datetime, dict[str, tuple[int, int, int]]]],
) -> int:
    """Rollups, bucket by bucket (each in its own transaction, as compaction writes them); returns the rows."""
    written, until, ids = 0, None, dict[str, int]()
    for bucket, figures in buckets:
        with translate_errors(f"backfilling the {tier} of {bucket:%Y-%m-%d %H:%M}"), store.engine.begin() as conn:
            source_id = source_id_of(conn, source, "backfill", bucket)
            if missing := figures.keys() - ids.keys():
                ids |= store.metric_ids(conn, missing)
            METRICS.write(conn, source_id, tier, bucket, {(notion, ids[m]): f for m, f in figures.items()})
            until = bucket + SPAN[tier]
        written += len(figures)
    if until is not None:
        with translate_errors("marking the backfilled tier"), store.engine.begin() as conn:
            mark_rolled(conn, source_id_of(conn, source, "backfill", until), tier, until)
    return written

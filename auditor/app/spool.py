"""Cycles the database could not take, kept in memory and written once it is back.

spool = Spool(max_cycles=24)
try: store.save(record)
except DatabaseUnavailable: spool.add(record)
spool.flush(store)      # at the start of the next cycle: oldest first, each in its own transaction

Bounded: past ``max_cycles`` the oldest cycle is dropped (and counted), so a database that stays
away cannot exhaust the daemon's memory. The spool lives in the process; a restart during an
outage loses what it holds (docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from auditor.core.cycle import CycleRecord, Standby
from auditor.core.errors import DatabaseUnavailable, StoreError
from auditor.store.repository import Store

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, max_cycles: int) -> None:
        self.max_cycles = max_cycles
        self._pending: deque[CycleRecord] = deque()
        self._lock = threading.Lock()
        self.spooled = 0
        self.written = 0
        self.dropped = 0
        """Totals since start, for the self-metrics."""

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, cycle: CycleRecord) -> None:
        with self._lock:
            if self.max_cycles == 0:
                self.dropped += 1
                return
            if len(self._pending) >= self.max_cycles:
                lost = self._pending.popleft()
                self.dropped += 1
                log.error("spool full (%d cycles): dropped the cycle of %s", self.max_cycles, lost.census.collected_at)
            self._pending.append(cycle)
            self.spooled += 1

    def flush(self, store: Store) -> int:
        """Write the spooled cycles, oldest first; stops (raising) when the database is still away."""
        count = 0
        with self._lock:
            while self._pending:
                cycle = self._pending[0]
                try:
                    saved = store.save(cycle)
                except DatabaseUnavailable:
                    raise
                except StoreError as exc:
                    # Not an outage: this cycle will never be accepted, so it must not block the others.
                    log.error(
                        "spooled cycle of %s refused by the database, dropped: %s", cycle.census.collected_at, exc
                    )
                    self.dropped += 1
                else:
                    if isinstance(saved, Standby):
                        log.info("spooled cycle of %s not written: %s", cycle.census.collected_at, saved.holder)
                        self.dropped += 1
                    else:
                        self.written += 1
                        count += 1
                self._pending.popleft()
        if count:
            log.info("database back: wrote %d spooled cycle(s)", count)
        return count

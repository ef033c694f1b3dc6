"""Writing a cycle: under the writer lease, into the spool while the database is away, or not at all as
the standby (another auditor writes the source)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from auditor.app.spool import Spool
from auditor.core.cycle import CycleRecord, Standby, Writer
from auditor.core.errors import AuditorError, DatabaseUnavailable, StoreError
from auditor.store import Store

log = logging.getLogger("auditor.app.cycle")


@dataclass
class CycleStorage:
    store: Store
    spool: Spool
    writer: Writer | None = None
    """Cycles are stored under this source's writer lease (two auditors take turns); None: no lease."""
    standby: bool = False
    held_by: str = ""
    """While standby: who holds the lease, and until when (``audit`` says it when it stores nothing)."""
    unstored: str = ""
    """Why the last cycle went to the spool instead of the database ("" when it was stored)."""

    def save(self, cycle: CycleRecord) -> bool:
        """Write the cycle, or spool it while the database is away; True when it is stored (or not ours to)."""
        self.unstored = ""
        try:
            saved = self.store.save(cycle)
        except DatabaseUnavailable as exc:
            self.unstored = str(exc)
            self.spool.add(cycle)
            log.warning("%s: cycle kept in the spool (%d waiting)", exc, len(self.spool))
            return False
        if isinstance(saved, Standby):
            self.held_by = saved.holder
            if not self.standby:
                log.info("standby: %s; this auditor evaluates and exports, and stores nothing", saved.holder)
            self.standby = True
            return True
        if self.standby:
            log.info("this auditor now writes source %s", cycle.census.source)
        self.standby = False
        return True

    def flush_spool(self) -> None:
        if not len(self.spool):
            return
        try:
            self.spool.flush(self.store)
        except DatabaseUnavailable as exc:
            log.info("spool not written yet (%d waiting): %s", len(self.spool), exc)

    def record_failure(self, source: str, url: str, exc: AuditorError, at: datetime, duration: float) -> None:
        """A failed cycle is kept as a row, so a gap in the history says why."""
        try:
            self.store.save_failure(source, url, at, reason=exc.reason, message=str(exc), duration=duration)
        except StoreError as store_exc:
            log.warning("could not record the failed cycle: %s", store_exc)

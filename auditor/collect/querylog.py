"""Following Prometheus' query log (``query_log_file``): one JSON line per query it ran.

    reader = QueryLogReader(Path("/prometheus/query.log"), max_bytes=64 << 20, max_seconds=10)
    batch = reader.read(stored_position, Credit(census.metrics))    # counts, and where to go on next time

Each read goes on from the stored position and stops at the last complete line, so a half-written
line is read whole next time. It survives:

- **rotation** (the path names a new file): the rest of the old file is read first, found in the same
  directory by its inode, then the new one from its start;
- **truncation** (the same file got shorter, or its first bytes changed: ``copytruncate``): the copy
  (a file of the directory with the same first bytes, at least as long as the position) is read to its
  end, then the file from its start;
- **a missing file**: nothing is read and the position is kept.

Memory and time are bounded (``max_bytes`` and ``max_seconds`` per read, in 1 MiB chunks); what is left
is read next time. The caller stores the batch and the position in one transaction, so a line is
counted once whatever fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from auditor.core.errors import ConfigError
from auditor.core.promql import QUERY_TAG
from auditor.core.usage import Credit, LogPosition, QueryKind, UsageBatch

CHUNK = 1 << 20
HEAD_BYTES = 256
"""A file is told apart by a hash of its first bytes (with its inode): enough for a line of JSON."""


class QueryLogReader:
    def __init__(self, path: Path, *, max_bytes: int, max_seconds: float) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    def read(self, position: LogPosition | None, credit: Credit) -> UsageBatch:
        """Everything after ``position`` (the whole file the first time), within the bounds."""
        batch = UsageBatch(position=position)
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return batch
        except OSError as exc:
            raise ConfigError(f"AUDITOR_QUERY_LOG_FILE: cannot read {self.path}: {exc.strerror}") from exc
        reading = _Pass(str(self.path), credit, batch, _Budget(self.max_bytes, time.monotonic() + self.max_seconds))
        for path, start, stat in self._plan(position, current):
            if not reading.drain(path, start, stat):
                break
        return batch

    def _plan(self, position: LogPosition | None, current: os.stat_result) -> list[tuple[Path, int, os.stat_result]]:
        """The files to read, in order, and where to start in each."""
        if position is None:
            return [(self.path, 0, current)]
        same_file = (current.st_dev, current.st_ino) == (position.device, position.inode)
        if same_file and current.st_size >= position.offset and _head_agrees(self.path, position.head):
            return [(self.path, position.offset, current)]
        old = self._find(position, current, by_inode=not same_file)
        rest = [(old[0], position.offset, old[1])] if old is not None else []
        return [*rest, (self.path, 0, current)]

    def _find(
        self, position: LogPosition, current: os.stat_result, *, by_inode: bool
    ) -> tuple[Path, os.stat_result] | None:
        """The rotated file (same inode) or the truncated file's copy (same first bytes, long enough)."""
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return None
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if by_inode and (stat.st_dev, stat.st_ino) == (position.device, position.inode):
                return Path(entry.path), stat
            copy = not by_inode and position.head and stat.st_ino != current.st_ino and stat.st_size >= position.offset
            if copy and _head(Path(entry.path)) == position.head:
                return Path(entry.path), stat
        return None


class _Pass:
    """One read: the counts it gathers and the bounds it shares across the files it reads."""

    def __init__(self, path: str, credit: Credit, batch: UsageBatch, budget: _Budget) -> None:
        self.path, self.credit, self.batch, self.budget = path, credit, batch, budget

    def drain(self, path: Path, start: int, stat: os.stat_result) -> bool:
        """Read ``path`` from ``start`` to its last complete line; False when a bound stopped it."""
        credit, batch, budget = self.credit, self.batch, self.budget
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, whatever happens
        except OSError as exc:
            raise ConfigError(f"AUDITOR_QUERY_LOG_FILE: cannot read {path}: {exc.strerror}") from exc
        with handle:
            head = _head_of(handle)
            offset = start
            handle.seek(start)
            for lines, consumed in _complete_lines(handle, budget):
                for line in lines:
                    _count(line, credit, batch)
                offset += consumed
            size = os.fstat(handle.fileno()).st_size
        batch.position = LogPosition(self.path, stat.st_dev, stat.st_ino, offset, head)
        batch.behind_bytes = max(0, size - offset)
        return not budget.spent


class _Budget:
    def __init__(self, max_bytes: int, deadline: float) -> None:
        self.left = max_bytes
        self.deadline = deadline
        self.spent = False

    def take(self, wanted: int) -> int:
        if self.left <= 0 or time.monotonic() >= self.deadline:
            self.spent = True
            return 0
        granted = min(wanted, self.left)
        self.left -= granted
        return granted


def _complete_lines(handle: IO[bytes], budget: _Budget) -> Iterator[tuple[list[bytes], int]]:
    """(complete lines, bytes they span) chunk by chunk; a trailing partial line waits for the next read."""
    pending = b""
    while size := budget.take(CHUNK):
        chunk = handle.read(size)
        if not chunk:
            budget.left += size
            return
        data = pending + chunk
        end = data.rfind(b"\n")
        if end < 0:
            pending = data
            continue
        pending = data[end + 1 :]
        yield data[:end].split(b"\n"), end + 1


def _count(line: bytes, credit: Credit, batch: UsageBatch) -> None:
    if not line.strip():
        return
    batch.lines += 1
    try:
        entry = json.loads(line)
        query, at, kind = _fields(entry)
    except (ValueError, TypeError, KeyError, AttributeError):
        batch.failures += 1
        return
    if QUERY_TAG in query:
        batch.own += 1
        return
    try:
        metrics = credit.metrics(query)
    except ValueError:
        batch.failures += 1
        return
    batch.credit(metrics, kind, at)


def _fields(entry: Any) -> tuple[str, datetime, QueryKind]:
    """Prometheus 2 writes the entry's time as ``ts``, Prometheus 3 (structured logging) as ``time``."""
    query = entry["params"]["query"]
    at = datetime.fromisoformat(entry["ts"] if "ts" in entry else entry["time"])
    if not isinstance(query, str) or at.tzinfo is None:
        raise ValueError("not a query-log entry")
    return query, at, QueryKind.RULE if "ruleGroup" in entry else QueryKind.API


def _head_of(handle: IO[bytes]) -> str:
    handle.seek(0)
    first = handle.read(HEAD_BYTES)
    return hashlib.sha256(first).hexdigest() if len(first) == HEAD_BYTES else ""


def _head(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            return _head_of(handle)
    except OSError:
        return ""


def _head_agrees(path: Path, head: str) -> bool:
    """The file still starts as it did (a hash not taken yet agrees with anything)."""
    return not head or _head(path) == head

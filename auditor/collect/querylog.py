"""Following Prometheus' query log (``query_log_file``): one JSON line per query it ran.

    reader = QueryLogReader(Path("/prometheus/query.log"), max_bytes=64 << 20, max_seconds=10,
                            monotonic=clock.monotonic)
    batch = reader.read(stored_position, Credit(census.metrics))    # counts, and where to go on next time

Each read goes on from the stored position and stops at the last complete line, so a half-written
line is read whole next time. It survives:

- **rotation** (the path names a new file): the rest of the old file is read first, found in the same
  directory by its inode, then the new one from its start;
- **truncation** (the same file got shorter, or its first bytes changed: ``copytruncate``): the copy
  (a file of the directory with the same first bytes, at least as long as the position) is read to its
  end, then the file from its start;
- **a missing file**: nothing is read and the position is kept.

Memory and time are bounded (``max_bytes`` and ``max_seconds`` per read, in 1 MiB chunks, the time
checked before every line and inside the matching of one line's regexes); what is left is read next
time. The log is anyone's input (anyone who can query Prometheus writes to it), so each line is
consumed exactly once whatever it holds: a line that is not JSON, not an entry, has no usable time,
is longer than ``MAX_LINE`` bytes, or whose query the parser refuses or that costs more than
``LINE_SECONDS`` to match, is counted under its ``Skip`` reason and passed (a refused query's bare names
are still credited, so no reader is lost to it). The caller stores the batch and the position in one
transaction, so a line is counted once whatever fails.
"""

from __future__ import annotations

import json
import os
import stat as stat_module
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from auditor.collect.logfiles import head, head_agrees, head_of, open_regular
from auditor.core.durations import EARLIEST, LATEST
from auditor.core.errors import ConfigError, InvalidPromQL
from auditor.core.promql import QUERY_TAG
from auditor.core.usage import Credit, LogPosition, QueryKind, QueryReads, Skip, UsageBatch

CHUNK = 1 << 20
MAX_LINE = 1 << 20
"""A line is its query (at most 64 KiB of PromQL is parsed) and a few hundred bytes of JSON around it."""
LINE_SECONDS = 1.0
"""Matching one line's regexes against the census may take this long; past it the line is skipped."""
FUTURE_SLACK = timedelta(days=1)
"""An entry dated more than this after the read is no usable time (a clock far off, or a forged line)."""
_SKIPS = {
    "too_long": Skip.QUERY_TOO_LONG, "too_deep": Skip.QUERY_TOO_DEEP, "too_complex": Skip.QUERY_TOO_COMPLEX,
    "panic": Skip.PARSER_PANIC, "too_costly": Skip.TOO_COSTLY,
}  # fmt: skip


class QueryLogReader:
    def __init__(self, path: Path, *, max_bytes: int, max_seconds: float, monotonic: Callable[[], float]) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._monotonic = monotonic

    def read(self, position: LogPosition | None, credit: Credit, now: datetime | None = None) -> UsageBatch:
        """Everything after ``position`` (the whole file the first time), within the bounds.

        ``now`` (the caller's clock) dates what is too far in the future to be a real entry.
        """
        batch = UsageBatch(position=position)
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return batch
        except OSError as exc:
            raise ConfigError(f"AUDITOR_QUERY_LOG_FILE: cannot read {self.path}: {exc.strerror}") from exc
        budget = _Budget(self.max_bytes, self._monotonic() + self.max_seconds, self._monotonic)
        reading = _Pass(str(self.path), _Line(credit, now, self._monotonic), batch, budget)
        for path, start, stat in self._plan(position, current):
            if not reading.drain(path, start, stat):
                break
        return batch

    def _plan(self, position: LogPosition | None, current: os.stat_result) -> list[tuple[Path, int, os.stat_result]]:
        """The files to read, in order, and where to start in each."""
        if position is None:
            return [(self.path, 0, current)]
        same_file = (current.st_dev, current.st_ino) == (position.device, position.inode)
        if same_file and current.st_size >= position.offset and head_agrees(self.path, position.head):
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
            if not stat_module.S_ISREG(stat.st_mode):
                continue
            if by_inode and (stat.st_dev, stat.st_ino) == (position.device, position.inode):
                return Path(entry.path), stat
            copy = not by_inode and position.head and stat.st_ino != current.st_ino and stat.st_size >= position.offset
            if copy and head(Path(entry.path)) == position.head:
                return Path(entry.path), stat
        return None


class _Pass:
    """One read: the counts it gathers and the bounds it shares across the files it reads."""

    def __init__(self, path: str, line: _Line, batch: UsageBatch, budget: _Budget) -> None:
        self.path, self.line, self.batch, self.budget = path, line, batch, budget

    def drain(self, path: Path, start: int, stat: os.stat_result) -> bool:
        """Read ``path`` from ``start`` to its last complete line; False when a bound stopped it.

        The position moves line by line, so a bound that strikes mid-chunk loses and repeats nothing.
        """
        with open_regular(path) as handle:
            head = head_of(handle)
            offset = start
            handle.seek(start)
            for text, span in _complete_lines(handle, self.budget):
                if self.budget.out_of_time():
                    break
                self.line.count(text, self.batch)
                offset += span
            size = os.fstat(handle.fileno()).st_size
        self.batch.position = LogPosition(self.path, stat.st_dev, stat.st_ino, offset, head)
        self.batch.behind_bytes = max(0, size - offset)
        return not self.budget.spent


class _Budget:
    def __init__(self, max_bytes: int, deadline: float, monotonic: Callable[[], float]) -> None:
        self.left = max_bytes
        self.deadline = deadline
        self.monotonic = monotonic
        self.spent = False

    def take(self, wanted: int) -> int:
        if self.left <= 0 or self.out_of_time():
            self.spent = True
            return 0
        granted = min(wanted, self.left)
        self.left -= granted
        return granted

    def out_of_time(self) -> bool:
        if self.monotonic() >= self.deadline:
            self.spent = True
            return True
        return False


def _complete_lines(handle: IO[bytes], budget: _Budget) -> Iterator[tuple[bytes | None, int]]:
    """(line, bytes it spans with its newline) per complete line; ``None`` for one over ``MAX_LINE`` bytes.

    A trailing partial line waits for the next read. An over-long line is never held whole: its bytes are
    only counted until its newline.
    """
    pending, skipped = b"", 0
    while size := budget.take(CHUNK):
        chunk = handle.read(size)
        if not chunk:
            budget.left += size
            return
        start = 0
        if skipped:
            end = chunk.find(b"\n")
            if end < 0:
                skipped += len(chunk)
                continue
            yield None, skipped + end + 1
            skipped, start = 0, end + 1
        data = pending + chunk[start:] if pending else chunk[start:]
        begin = 0
        while (end := data.find(b"\n", begin)) >= 0:
            yield (data[begin:end] if end - begin <= MAX_LINE else None), end + 1 - begin
            begin = end + 1
        pending = data[begin:]
        if len(pending) > MAX_LINE:
            pending, skipped = b"", len(pending)


class _Line:
    """What one line of the log is: counted, credited, or skipped for a reason (each line once)."""

    def __init__(self, credit: Credit, now: datetime | None, monotonic: Callable[[], float]) -> None:
        self.credit = credit
        self.latest = now + FUTURE_SLACK if now is not None else LATEST
        self.monotonic = monotonic

    def count(self, line: bytes | None, batch: UsageBatch) -> None:
        if line is not None and not line.strip():
            return
        batch.lines += 1
        if line is None:
            batch.skip(Skip.LINE_TOO_LONG)
            return
        try:
            query, at, kind, group = _fields(json.loads(line), self.latest)
        except _Refused as refused:
            batch.skip(refused.reason)
            return
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError):
            batch.skip(Skip.UNREADABLE)
            return
        if QUERY_TAG in query:
            batch.own += 1
            return
        batch.credit(self._reads(query, batch), kind, at, group)

    def _reads(self, query: str, batch: UsageBatch) -> QueryReads:
        """What ``query`` reads; one the parser refuses is skipped, its bare names still credited (every label)."""
        known = self.credit.known(query)
        if known is not None:  # dashboards repeat themselves: most lines end here
            return known
        deadline = self.monotonic() + LINE_SECONDS
        try:
            return self.credit.reads(query, lambda: self.monotonic() > deadline)
        except InvalidPromQL as exc:
            batch.skip(_SKIPS.get(exc.reason, Skip.INVALID_PROMQL))
            return self.credit.named(query)


class _Refused(Exception):
    def __init__(self, reason: Skip) -> None:
        self.reason = reason


def _fields(entry: Any, latest: datetime) -> tuple[str, datetime, QueryKind, str]:
    """(query, time, kind, rule group). Prometheus 2 writes the entry's time as ``ts``, Prometheus 3
    (structured logging) as ``time``; a rule evaluation names its group (``ruleGroup``)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("params"), dict):
        raise _Refused(Skip.NOT_AN_ENTRY)
    query, stamp = entry["params"].get("query"), entry.get("ts", entry.get("time"))
    if not isinstance(query, str) or not isinstance(stamp, str):
        raise _Refused(Skip.NOT_AN_ENTRY)
    if "ruleGroup" not in entry:
        return query, _time(stamp, latest), QueryKind.API, ""
    return query, _time(stamp, latest), QueryKind.RULE, _group(entry["ruleGroup"])


def _group(group: Any) -> str:
    """``file: name`` of a rule evaluation's group, as far as the entry says."""
    if not isinstance(group, dict):
        return ""
    name, file = group.get("name"), group.get("file")
    name = name if isinstance(name, str) else ""
    return f"{file}: {name}" if isinstance(file, str) and file else name


def _time(stamp: str, latest: datetime) -> datetime:
    """The entry's time in UTC; one without a zone, out of range or in the future is no usable time."""
    try:
        written = datetime.fromisoformat(stamp)
        at = None if written.tzinfo is None else written if written.tzinfo is UTC else written.astimezone(UTC)
    except (ValueError, OverflowError):
        at = None
    if at is None or not EARLIEST <= at <= latest:
        raise _Refused(Skip.BAD_TIME)
    return at

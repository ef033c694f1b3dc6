"""The query-log reader on real files: incremental, rotation, copytruncate, a half-written line, bounds, garbage."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.collect.querylog import QueryLogReader
from auditor.core.promql import QUERY_TAG
from auditor.core.usage import Credit, QueryKind, UsageBatch
from tests.support.builders import CLOCK

NAMES = ["http_requests_total", "up", "node_load1", "node_load5"]
DAY = date(2026, 11, 20)


def line(query: str, second: int = 0, *, rule: bool = False, v3: bool = False) -> str:
    """A query-log line as Prometheus 2 writes it (``ts``), or 3 (``time``, with slog's fields)."""
    entry: dict[str, object] = {
        "params": {"query": query, "start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:00:00Z", "step": 0},
        "ts": f"2026-11-20T10:00:{second:02d}.123456789Z",
    }
    if v3:
        entry = {"time": entry.pop("ts"), "level": "INFO", "msg": "promql query logged", **entry}
    entry["ruleGroup" if rule else "httpRequest"] = (
        {"file": "r.yml", "name": "g"} if rule else {"clientIP": "127.0.0.1", "method": "POST", "path": "/api/v1/query"}
    )
    return json.dumps(entry) + "\n"


def reader(path: Path, max_bytes: int = 1 << 30) -> QueryLogReader:
    return QueryLogReader(path, max_bytes=max_bytes, max_seconds=30, monotonic=CLOCK.monotonic)


def counts(batch: UsageBatch) -> dict[tuple[str, str], int]:
    return {(metric, kind.value): n for (_, metric, kind), n in batch.counts.items()}


def test_lines_are_credited_per_metric_and_kind_and_own_queries_and_garbage_are_counted_apart(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    log.write_text(
        line("sum(rate(http_requests_total[5m]))", 1) + line('{__name__=~"node_load.*"}', 2)
        + line("up == 0", 3, rule=True) + line(f"count by (__name__) ({{__name__!=\"\"}})\n{QUERY_TAG}", 4)
        + "not json\n" + line("sum(", 5) + '{"params": {}}\n' + line("http_requests_total", 6, v3=True)
    )  # fmt: skip
    batch = reader(log).read(None, Credit(NAMES))
    assert counts(batch) == {
        ("http_requests_total", "api"): 2, ("node_load1", "api"): 1, ("node_load5", "api"): 1, ("up", "rule"): 1,
    }  # fmt: skip
    assert (batch.lines, batch.own, batch.failures) == (8, 1, 3)
    assert batch.last[(DAY, "http_requests_total", QueryKind.API)] == datetime(2026, 11, 20, 10, 0, 6, 123456, UTC)
    assert batch.earliest == datetime(2026, 11, 20, 10, 0, 1, 123456, UTC)
    assert batch.position is not None
    assert batch.position.offset == log.stat().st_size


def test_reading_goes_on_from_the_position_and_waits_for_a_half_written_line(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    log.write_text(line("up", 1) + line("up", 2)[:30])
    first = reader(log).read(None, Credit(NAMES))
    assert counts(first) == {("up", "api"): 1}
    with log.open("a") as f:
        f.write(line("up", 2)[30:] + line("node_load1", 3))
    second = reader(log).read(first.position, Credit(NAMES))
    assert counts(second) == {("up", "api"): 1, ("node_load1", "api"): 1}, "the line is read whole, once"
    assert counts(reader(log).read(second.position, Credit(NAMES))) == {}, "nothing twice"


def test_rotation_reads_the_rest_of_the_old_file_then_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    log.write_text(line("up", 1))
    first = reader(log).read(None, Credit(NAMES))
    with log.open("a") as f:
        f.write(line("node_load1", 2))  # written after the read, before the rotation
    log.rename(tmp_path / "query.log.1")
    log.write_text(line("node_load5", 3))
    batch = reader(log).read(first.position, Credit(NAMES))
    assert counts(batch) == {("node_load1", "api"): 1, ("node_load5", "api"): 1}
    assert batch.position is not None
    assert batch.position.inode == log.stat().st_ino


def test_copytruncate_reads_the_copy_to_its_end_then_the_file_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    log.write_text("".join(line("up", s) for s in range(10)))  # past the bytes that tell a file apart
    first = reader(log).read(None, Credit(NAMES))
    with log.open("a") as f:
        f.write(line("node_load1", 20))
    (tmp_path / "query.log.1").write_bytes(log.read_bytes())  # copy, then truncate in place
    with log.open("r+") as f:
        f.truncate(0)
    with log.open("a") as f:
        f.write("".join(line("node_load5", s) for s in range(12)))  # longer than before: only its head tells
    batch = reader(log).read(first.position, Credit(NAMES))
    assert counts(batch) == {("node_load1", "api"): 1, ("node_load5", "api"): 12}


def test_a_missing_file_keeps_the_position_and_bounds_leave_the_rest_for_later(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    assert reader(log).read(None, Credit(NAMES)).position is None
    log.write_text("".join(line("up", s % 60) for s in range(5000)))
    size, seen, position, reads = log.stat().st_size, 0, None, 0
    while True:
        batch = QueryLogReader(log, max_bytes=64 << 10, max_seconds=30, monotonic=CLOCK.monotonic).read(
            position, Credit(NAMES)
        )
        reads += 1
        seen += batch.counts.get((DAY, "up", QueryKind.API), 0)
        position = batch.position
        if not batch.behind_bytes:
            break
    assert seen == 5000, "every line once across bounded reads"
    assert reads == -(-size // (64 << 10)), "64 KiB a read"
    os.remove(log)
    assert reader(log).read(position, Credit(NAMES)).position == position


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                          st.sampled_from([line("up").encode(), line("x" * 5000).encode()])), max_size=30))  # fmt: skip
def test_any_bytes_are_counted_never_fatal(tmp_path: Path, chunks: list[bytes]) -> None:
    log = tmp_path / "fuzz.log"
    log.write_bytes(b"\n".join(chunk.replace(b"\n", b" ") for chunk in chunks) + b"\n")
    batch = reader(log).read(None, Credit(NAMES))
    lines = sum(1 for chunk in chunks if chunk.replace(b"\n", b" ").strip())
    assert batch.lines == lines
    ups = sum(1 for chunk in chunks if chunk == line("up").encode())
    assert sum(batch.counts.values()) == ups, "only the real entries count, each once"
    assert batch.failures == lines - ups - sum(1 for chunk in chunks if chunk == line("x" * 5000).encode())


def test_a_100_mb_log_is_read_in_bounded_steps_and_a_spent_time_budget_reads_nothing(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    block = "".join(line(q, s) for s, q in enumerate(["sum(rate(http_requests_total[5m]))", "up", "node_load1"]))
    repeats = 100 * 2**20 // len(block) + 1
    log.write_text(block * repeats)
    size = log.stat().st_size
    assert size > 100 * 2**20
    spent = QueryLogReader(log, max_bytes=64 << 20, max_seconds=0, monotonic=CLOCK.monotonic).read(None, Credit(NAMES))
    assert (spent.lines, spent.behind_bytes) == (0, size), "no time left: nothing read, nothing lost"
    first = QueryLogReader(log, max_bytes=64 << 20, max_seconds=600, monotonic=CLOCK.monotonic).read(
        None, Credit(NAMES)
    )
    assert first.position is not None
    assert 0 < first.position.offset <= 64 << 20, "a cycle reads at most AUDITOR_USAGE__MAX_BYTES"
    assert first.behind_bytes == size - first.position.offset
    second = QueryLogReader(log, max_bytes=64 << 20, max_seconds=600, monotonic=CLOCK.monotonic).read(
        first.position, Credit(NAMES)
    )
    assert second.behind_bytes == 0
    assert first.lines + second.lines == 3 * repeats
    up = (DAY, "up", QueryKind.API)
    assert first.counts[up] + second.counts[up] == repeats

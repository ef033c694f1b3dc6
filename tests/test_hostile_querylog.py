"""The query log is anyone's input: whatever a query holds, the auditor reads each line once and stays responsive.

Hostile queries go through a real Prometheus 3.5 (which answers them in microseconds and writes them to
its query log); the auditor runs as a real daemon subprocess reading that log, and a probe asks
``/healthz`` within a second all the while.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from auditor.collect.querylog import MAX_LINE, QueryLogReader
from auditor.core.errors import ConfigError, InvalidPromQL
from auditor.core.promql_parse import MAX_NESTING, MAX_OPERATORS, parse
from auditor.core.regex import NameIndex, prometheus_regex
from auditor.core.usage import Credit
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from auditor.store import Store, make_engine
from tests.support.builders import CLOCK
from tests.support.metrics import samples
from tests.support.servers import require, wait_until
from tests.test_daemon import daemon

NAMES = [f"hostile_metric_with_a_long_name_number_{i:04d}" for i in range(300)]
BOMB = 'count({__name__=~"(\\\\w+)+Z"})'
"""Exponential for a backtracking engine against every name above (2^40 steps each); linear for RE2."""
DEEP = "(" * 10_000 + "up" + ")" * 10_000
CHAIN = " + ".join(["up"] * 1000)


def line(query: str, ts: str = "2026-11-20T10:00:00Z", field: str = "ts") -> bytes:
    entry = {"params": {"query": query}, field: ts, "httpRequest": {"path": "/api/v1/query"}}
    return (json.dumps(entry) + "\n").encode()


def reader(path: Path, max_seconds: float = 30, **options: object) -> QueryLogReader:
    return QueryLogReader(path, max_bytes=1 << 30, max_seconds=max_seconds, **options, monotonic=CLOCK.monotonic)  # type: ignore[arg-type]


def skipped(batch: object) -> dict[str, int]:
    return {reason.value: n for reason, n in batch.skipped.items()}  # type: ignore[attr-defined]


def test_every_hostile_line_is_consumed_once_with_its_reason_and_a_refused_querys_names_still_count(
    tmp_path: Path,
) -> None:
    log = tmp_path / "query.log"
    log.write_bytes(
        line(BOMB) + line(DEEP) + line(CHAIN) + line("rate(up[1e400])") + line("up offset 1e20")
        + line("up", "9999-12-31T23:59:59-01:00") + line("up", "2026-11-20T10:00:00") + line("up", "+275760-01-01")
        + line("node_load1", "2999-01-01T00:00:00Z") + b"\xff\xfe not utf-8\n" + b"[1, 2]\n"
        + b'{"params": {"query": 5}, "ts": "2026-11-20T10:00:00Z"}\n' + b"[" * 100_000 + b"\n"
        + line("x" * (MAX_LINE + 10)) + line("up")
    )  # fmt: skip
    credit = Credit([*NAMES, "up", "node_load1"])
    started = time.monotonic()
    batch = reader(log).read(None, credit, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert time.monotonic() - started < 5
    assert skipped(batch) == {
        "query_too_deep": 1, "query_too_complex": 1, "invalid_promql": 2, "bad_time": 4, "unreadable": 2,
        "not_an_entry": 2, "line_too_long": 1,
    }  # fmt: skip
    assert batch.lines == 15
    assert batch.failures == sum(skipped(batch).values())
    assert batch.position is not None
    assert batch.position.offset == log.stat().st_size, "the position moved past every line"
    ups = {metric: n for (_, metric, _), n in batch.counts.items()}
    # the bomb reads no census name; the deep, the chain and both durations still credit `up` by name
    assert ups == {"up": 5}
    again = reader(log).read(batch.position, credit)
    assert (again.lines, again.failures, again.counts) == (0, 0, {}), "nothing is read twice"


def test_an_over_long_line_is_skipped_across_chunks_and_one_still_being_written_waits(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    big = b'{"params": {"query": "' + b"a" * (3 * MAX_LINE) + b'"}}'
    log.write_bytes(line("up") + big)  # no newline yet: Prometheus is still writing it
    credit = Credit(["up"])
    first = reader(log).read(None, credit)
    assert (first.lines, first.failures) == (1, 0)
    assert first.position is not None
    assert first.position.offset == len(line("up")), "the unfinished line is not consumed"
    with log.open("ab") as out:
        out.write(b"\n" + line("up"))
    second = reader(log).read(first.position, credit)
    assert skipped(second) == {"line_too_long": 1}
    assert sum(second.counts.values()) == 1
    assert second.position is not None
    assert second.position.offset == log.stat().st_size


def test_a_deadline_that_strikes_mid_chunk_keeps_the_position_at_a_line_and_loses_nothing(tmp_path: Path) -> None:
    log = tmp_path / "query.log"
    log.write_bytes(b"".join(line("up") for _ in range(1000)))
    ticks = iter(range(10_000))

    def clock() -> float:  # one tick a call: the read runs out of time after about 300 lines
        return float(next(ticks))

    first = QueryLogReader(log, max_bytes=1 << 30, max_seconds=300, monotonic=clock).read(None, Credit(["up"]))
    assert 0 < first.lines < 1000
    assert first.position is not None
    assert first.position.offset == first.lines * len(line("up")), "stopped at a line's end"
    rest = reader(log).read(first.position, Credit(["up"]))
    assert first.lines + rest.lines == 1000
    assert sum(first.counts.values()) + sum(rest.counts.values()) == 1000


def test_a_fifo_as_the_query_log_is_refused_at_once_instead_of_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "query.log"
    os.mkfifo(fifo)
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            reader(fifo).read(None, Credit(["up"]))
            outcome.append(None)
        except ConfigError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(5)
    assert not thread.is_alive(), "opening a FIFO blocked"
    assert isinstance(outcome[0], ConfigError)
    assert "not a regular file" in str(outcome[0])
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_the_parser_never_sees_unbounded_input_and_its_panics_are_invalid_promql() -> None:
    for text, reason in [
        ("(" * (MAX_NESTING + 1) + "up" + ")" * (MAX_NESTING + 1), "too_deep"),
        (" + ".join(["up"] * (MAX_OPERATORS + 2)), "too_complex"),
        ("up" * 40_000, "too_long"),
        ("rate(up[1e400])", "invalid"),
        ("up[5m:1e20]", "invalid"),
        ("up[1e19]", "invalid"),
    ]:
        with pytest.raises(InvalidPromQL) as caught:
            parse(text)
        assert caught.value.reason == reason, text
    assert parse("(" * MAX_NESTING + "up" + ")" * MAX_NESTING) is not None
    assert parse(" + ".join(["up"] * MAX_OPERATORS)) is not None


_QUANTIFIED = st.sampled_from(["(a+)+", "(\\w+)+Z", "(a|aa)*b", "(.*a){12}", "([a-z]+)*[0-9]", "(x+x+)+y"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            _QUANTIFIED.map(lambda p: "{__name__=~" + json.dumps(p) + "}"),
            st.integers(1, 3 * MAX_NESTING).map(lambda n: "sum(" * n + "up" + ")" * n),
            st.integers(1, 3 * MAX_OPERATORS).map(lambda n: " or ".join(["up"] * n)),
            st.floats(allow_nan=True, allow_infinity=True).map(lambda f: f"rate(up[{f!r}])"),
            st.text(max_size=200),
        ),
        min_size=1,
        max_size=5,
    ).map(" + ".join)
)
def test_generated_hostile_queries_are_answered_quickly_or_refused_as_invalid_promql(query: str) -> None:
    credit = Credit(NAMES)
    started = time.monotonic()
    with contextlib.suppress(InvalidPromQL):
        credit.metrics(query)
    assert time.monotonic() - started < 1.0


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*NAMES[:20], "up", "a\nb", "ü_metric"]), _QUANTIFIED)
def test_external_regexes_match_in_linear_time_and_fully_anchored(name: str, pattern: str) -> None:
    regex = prometheus_regex(pattern)
    started = time.monotonic()
    regex.fullmatch(name * 20)
    assert time.monotonic() - started < 0.1


@pytest.fixture
def hostile_prometheus(tmp_path: Path) -> Iterator[tuple[LocalPrometheus, Path]]:
    exporter = Exporter()
    for name in NAMES:
        exporter.set(name, 1)
    exporter.start()
    log = tmp_path / "logs" / "query.log"
    log.parent.mkdir()
    prometheus = LocalPrometheus(
        tmp_path / "prom", [exporter.target], binary=require("3.5").binary, global_options={"query_log_file": str(log)}
    )
    try:
        prometheus.start()
        exporter.wait_for_scrapes(2)
        yield prometheus, log
    finally:
        prometheus.stop()
        exporter.stop()


def _probe(url: str, stop: threading.Event, slow: list[float]) -> None:
    """Ask ``url`` without pause; every answer slower than a second (or none) is noted."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            ok = httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            ok = False
        if not ok:
            slow.append(time.monotonic() - started)
        stop.wait(0.05)


@pytest.mark.prometheus
@pytest.mark.slow
def test_hostile_queries_through_a_real_prometheus_never_freeze_the_daemon(
    hostile_prometheus: tuple[LocalPrometheus, Path], tmp_path: Path, sqlite_url: str
) -> None:
    prometheus, log = hostile_prometheus
    patterns = ["hostile_metric_.*_000[0-4]", "(?i)HOSTILE_metric.*_0299", "hostile_metric.+number_01.."]
    counted: set[str] = set()
    for query in [BOMB, DEEP, CHAIN, *("count by (__name__) ({__name__=~" + json.dumps(p) + "})" for p in patterns)]:
        answer = httpx.post(f"{prometheus.url}/api/v1/query", data={"query": query}, timeout=30)
        assert answer.status_code == 200
        names = {sample["metric"].get("__name__", "") for sample in answer.json()["data"]["result"]}
        counted |= {name for name in names if name.startswith("hostile_")}
    assert len(counted) == 5 + 1 + 100
    wait_until(lambda: log.read_bytes().count(b"\n"), lambda n: n >= 6, what="the queries in Prometheus' log")
    port = free_port()
    env = {
        "AUDITOR_PROMETHEUS_URL": prometheus.url, "AUDITOR_DATABASE_URL": sqlite_url, "AUDITOR_AUDIT_INTERVAL": "1s",
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{port}", "AUDITOR_SOURCE": "hostile", "AUDITOR_QUERY_LOG_FILE": str(log),
        "AUDITOR_AUTO_MIGRATE": "true",
    }  # fmt: skip
    stop, slow = threading.Event(), []
    probe = threading.Thread(target=_probe, args=(f"http://127.0.0.1:{port}/healthz", stop, slow), daemon=True)
    engine = make_engine(sqlite_url)
    try:
        with daemon(env, tmp_path / "daemon.log") as process:
            wait_until(lambda: _get(f"http://127.0.0.1:{port}/healthz"), bool, what="the daemon's first answer")
            probe.start()
            state = wait_until(lambda: Store(engine).usage.state("hostile"), lambda s: s is not None and s.lines >= 6)
            metrics = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text)
            stop.set()
            probe.join()
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
            assert time.monotonic() - started < 8
    finally:
        stop.set()
    assert slow == [], f"/healthz was slower than 1 s {len(slow)} times"
    assert state is not None
    assert metrics['metrics_auditor_query_log_skipped_lines_total{reason="query_too_deep"}'] == 1
    assert metrics['metrics_auditor_query_log_skipped_lines_total{reason="query_too_complex"}'] == 1
    assert state.covered_since is not None
    reads = Store(engine).usage.reads("hostile", state.covered_since.date())
    engine.dispose()
    # RE2 with Prometheus' semantics: the names each regex credited are the names Prometheus itself counted
    assert {m for m in reads if m.startswith("hostile_")} == counted


def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


_HOSTILE_QUERIES = st.one_of(
    _QUANTIFIED.map(lambda p: "count({__name__=~" + json.dumps(p) + "})"),
    st.integers(1, 400).map(lambda n: "(" * n + "up" + ")" * n),
    st.integers(1, 600).map(lambda n: " or ".join(["up"] * n)),
    st.sampled_from(["rate(up[1e400])", "up offset 1e20", "up[5m:1e30]", "sum(", "up{", "#", "`", '"\\x27']),
    st.text(max_size=300),
)
_LINES = st.one_of(
    _HOSTILE_QUERIES.map(line),
    st.sampled_from([line("up"), line("sum(up)"), line("up", "9999-12-31T23:59:59-01:00"), b"\xff\n", b"{}\n"]),
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b" ") + b"\n"),
)


@pytest.fixture(scope="module")
def probed() -> Iterator[list[float]]:
    """A server answering /healthz in this process and a probe asking it all the while: the slow answers."""
    from prometheus_client import CollectorRegistry

    from auditor.app.http import HttpServer, make_app

    server = HttpServer(
        "127.0.0.1",
        0,
        make_app(CollectorRegistry(), lambda: (True, "ok"), lambda: (True, "ok")),
        monotonic=CLOCK.monotonic,
    )
    server.start()
    stop, slow = threading.Event(), []
    thread = threading.Thread(target=_probe, args=(f"http://127.0.0.1:{server.port}/healthz", stop, slow), daemon=True)
    thread.start()
    yield slow
    stop.set()
    thread.join()
    server.stop()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(_LINES, min_size=1, max_size=12))
def test_generated_hostile_lines_are_read_once_lose_no_stored_read_and_never_hold_a_probe(
    engine: Engine, tmp_path: Path, probed: list[float], lines: list[bytes]
) -> None:
    store = Store(engine)
    log = tmp_path / "query.log"
    before = store.usage.state("fuzz")
    stored_ups = _ups(store, before)
    with log.open("ab") as out:
        out.write(b"".join(lines))
    batch = reader(log).read(before.position if before else None, Credit(["up", *NAMES]))
    state = store.usage.record("fuzz", "http://p", batch, datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert state is not None
    assert state.position.offset == log.stat().st_size, "every line consumed"
    assert state.lines - (before.lines if before else 0) == sum(1 for chunk in lines if chunk.strip())
    assert _ups(store, state) >= stored_ups + lines.count(line("up")), "no stored read is lost, none counted twice"
    assert probed == [], f"a probe waited over a second: {probed}"


def _ups(store: Store, state: object) -> int:
    reads = store.usage.reads("fuzz", date(2026, 11, 20)) if state is not None else {}
    return reads["up"].api if "up" in reads else 0


_NAME_CHARS = st.sampled_from("abcxyz_:019.é\n")
_PATTERNS = st.one_of(
    _QUANTIFIED,
    st.lists(st.sampled_from(["a", "b", "_", ".", ".*", ".+", "[a-c]", "(x|y)", "é", "\\d", "(?i)A", "z?", ":"]),
             max_size=6).map("".join),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(_NAME_CHARS, min_size=1, max_size=12), max_size=40), _PATTERNS)
def test_the_name_index_finds_exactly_the_names_a_full_scan_finds(names: list[str], pattern: str) -> None:
    regex = prometheus_regex(pattern)
    assert set(NameIndex(names).matching(regex)) == {name for name in names if regex.fullmatch(name)}

"""Census method by server version (docs/architecture.md), against respx shapes of 2.45+/3.x and of 2.42."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from auditor.collect.census import AskedLimits, CensusCollector, Deadline, chunked, count_query
from auditor.collect.client import PrometheusClient
from auditor.config.settings import CensusSettings
from auditor.core.domain import CensusMethod, SeriesNotion
from auditor.core.errors import CycleCancelled, PrometheusQueryError, PrometheusResponseError, PrometheusTimeout
from tests.support import fake
from tests.support.builders import CLOCK, ClockOf
from tests.support.fake import untagged

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def collector(http: httpx.Client, asked: AskedLimits | None = None, **settings: int) -> CensusCollector:
    """A collector as a new auditor makes it; ``asked``: the process' memory it shares with other auditors."""
    return CensusCollector(PrometheusClient(http, CLOCK), CensusSettings(**settings), ClockOf(lambda: NOW), asked)


def names_in(request: httpx.Request) -> list[str]:
    query = untagged(dict(httpx.QueryParams(request.content.decode()))["query"])
    match = re.fullmatch(r'count by \(__name__\) \(\{__name__=~"(.*)"\}\)', query)
    assert match, query
    return match.group(1).split("|")


def counting(truth: dict[str, int]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=fake.vector({n: truth[n] for n in names_in(request) if truth.get(n)}))

    return answer


def test_245_one_tsdb_request_gives_the_whole_census(router: respx.MockRouter, http: httpx.Client) -> None:
    metrics = {f"metric_{i}": 1000 - i for i in range(250)}
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.53.1"))
    tsdb = router.get("/api/v1/status/tsdb").respond(json=fake.tsdb(metrics))
    census = collector(http, tsdb_limit=5000).collect("prod", Deadline.after(30, CLOCK.monotonic))
    assert tsdb.calls.last.request.url.params["limit"] == "5000"
    assert census.metrics == metrics
    assert census.method is CensusMethod.TSDB_STATUS
    assert census.notion is SeriesNotion.HEAD
    assert not census.tsdb_truncated
    assert census.head.num_series == sum(metrics.values())
    assert census.prometheus_version == "2.53.1"
    assert census.collected_at == NOW


def test_full_tsdb_answer_is_truncated_and_the_rest_is_counted(router: respx.MockRouter, http: httpx.Client) -> None:
    truth = {f"m{i:03d}": 500 - i for i in range(40)}
    top = dict(list(truth.items())[:10])
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("3.1.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb(top, head_series=sum(truth.values())))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(sorted(truth)))
    queries = router.post("/api/v1/query").mock(side_effect=counting(truth))
    census = collector(http, tsdb_limit=10, chunk_size=12).collect("prod", Deadline.after(30, CLOCK.monotonic))
    assert census.metrics == truth
    assert census.tsdb_truncated
    assert census.method is CensusMethod.TSDB_STATUS_AND_COUNT
    assert census.notion is SeriesNotion.MIXED
    counted = [names_in(call.request) for call in queries.calls]
    assert sorted(n for chunk in counted for n in chunk) == sorted(set(truth) - set(top))
    assert [len(chunk) for chunk in counted] == [12, 12, 6]


def test_prometheus_39_never_gets_a_limit_above_10000(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("3.9.0"))
    tsdb = router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"up": 1}))
    collector(http, tsdb_limit=50_000).collect("prod", Deadline.after(30, CLOCK.monotonic))
    assert tsdb.calls.last.request.url.params["limit"] == "10000"


@pytest.mark.parametrize(("version", "configured"), [("2.53.3", 1000), ("3.9.0", 10_000), ("3.9.0", 50_000)])
def test_the_limit_moves_with_the_second_so_prometheus_never_answers_from_its_cache(
    version: str, configured: int
) -> None:
    """Prometheus caches the TSDB status per ``limit`` until more than 30 whole seconds passed (its clock, which may
    be a second off ours): two censuses 1 to 31 s apart ask with two limits."""
    from auditor.core.domain import BuildInfo

    census = CensusCollector(
        PrometheusClient(httpx.Client(), CLOCK), CensusSettings(tsdb_limit=configured), clock=ClockOf(lambda: NOW)
    )
    version_tuple = BuildInfo(version).version_tuple
    limits = [census.limit(version_tuple, NOW + timedelta(seconds=s)) for s in range(100)]
    for first in range(100):
        for later in range(first + 1, min(first + 32, 100)):
            assert limits[first] != limits[later], (first, later)
    assert max(limits) <= (10_000 if version == "3.9.0" else configured + 63)
    assert min(limits) >= min(configured, 10_000) - 63


def test_two_censuses_within_one_second_ask_with_two_limits(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("3.5.3"))
    tsdb = router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"up": 1}))
    process = AskedLimits()
    collector(http, process).collect("prod", Deadline.after(30, CLOCK.monotonic))
    collector(http, process).collect("prod", Deadline.after(30, CLOCK.monotonic))  # another auditor, same second
    collector(http, process).collect("prod", Deadline.after(30, CLOCK.monotonic))
    limits = [call.request.url.params["limit"] for call in tsdb.calls]
    assert limits[0] != limits[1]
    assert limits[1] != limits[2]


def test_before_245_counts_every_name_in_chunks(router: respx.MockRouter, http: httpx.Client) -> None:
    truth = {f"old_{i}": i + 1 for i in range(25)}
    names = [*truth, "gone_a", "gone_b"]
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.42.0+ds"))
    tsdb = router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"old_24": 25}, head_series=400))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(names))
    queries = router.post("/api/v1/query").mock(side_effect=counting(truth))
    census = collector(http, chunk_size=10).collect("prod", Deadline.after(30, CLOCK.monotonic))
    assert tsdb.calls.last.request.url.params["topN"] == "100", "one request serves VictoriaMetrics too"
    assert census.metrics == truth
    assert census.head_metrics == frozenset()
    assert census.stale_names == 2
    assert census.method is CensusMethod.COUNT_BY_NAME
    assert census.notion is SeriesNotion.ACTIVE
    assert census.head.num_series == 400
    assert len(queries.calls) == 3
    times = {dict(httpx.QueryParams(c.request.content.decode()))["time"] for c in queries.calls}
    assert times == {f"{NOW.timestamp():.3f}"}, "every chunk is evaluated at the same instant"


def test_max_samples_error_splits_the_chunk(router: respx.MockRouter, http: httpx.Client) -> None:
    truth = {f"n{i}": 10 for i in range(8)}

    def answer(request: httpx.Request) -> httpx.Response:
        names = names_in(request)
        if len(names) > 2:
            error = "query processing would load too many samples into memory in query execution"
            body = {"status": "error", "errorType": "execution", "error": error}
            return httpx.Response(422, json=body)
        return httpx.Response(200, json=fake.vector({n: truth[n] for n in names}))

    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.42.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({}))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(list(truth)))
    queries = router.post("/api/v1/query").mock(side_effect=answer)
    census = collector(http, chunk_size=8).collect("prod", Deadline.after(30, CLOCK.monotonic))
    assert census.metrics == truth
    assert max(len(names_in(c.request)) for c in queries.calls if c.response.status_code == 200) == 2


def test_other_query_errors_fail_the_census(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.42.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({}))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(["a", "b"]))
    router.post("/api/v1/query").respond(400, json={"status": "error", "errorType": "bad_data", "error": "parse error"})
    with pytest.raises(PrometheusQueryError, match="bad_data"):
        collector(http).collect("prod", Deadline.after(30, CLOCK.monotonic))


def test_no_active_series_at_all_means_prometheus_is_not_ready(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.42.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({}, head_series=300))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(["a", "b"]))
    router.post("/api/v1/query").respond(json=fake.vector({}))
    with pytest.raises(PrometheusResponseError, match="still be starting"):
        collector(http).collect("prod", Deadline.after(30, CLOCK.monotonic))


def test_empty_tsdb_list_beside_a_full_head_is_completed(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("2.50.0"))
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({}, head_series=7))
    router.get("/api/v1/label/__name__/values").respond(json=fake.ok(["a", "b"]))
    router.post("/api/v1/query").respond(json=fake.vector({"a": 3, "b": 4}))
    census = collector(http).collect("prod", Deadline.after(30, CLOCK.monotonic))
    assert census.metrics == {"a": 3, "b": 4}
    assert census.tsdb_truncated


def test_cancel_stops_between_requests(router: respx.MockRouter, http: httpx.Client) -> None:
    cancel = threading.Event()

    def cancel_then_answer(_: httpx.Request) -> httpx.Response:
        cancel.set()
        return httpx.Response(200, json=fake.buildinfo("2.42.0"))

    router.get("/api/v1/status/buildinfo").mock(side_effect=cancel_then_answer)
    with pytest.raises(CycleCancelled):
        collector(http).collect("prod", Deadline.after(30, CLOCK.monotonic, cancel))


def test_a_cycle_past_its_deadline_sends_no_request(router: respx.MockRouter, http: httpx.Client) -> None:
    with pytest.raises(PrometheusTimeout, match="deadline"):
        collector(http).collect("prod", Deadline.after(-1, CLOCK.monotonic))
    assert not router.calls


def test_count_query_escapes_regex_and_string() -> None:
    assert count_query(["a.b", 'q"x']) == r'count by (__name__) ({__name__=~"a\\.b|q\"x"})'


def test_chunks_are_bounded_by_count_and_bytes() -> None:
    names = [f"name_{i}" for i in range(1000)]
    chunks = list(chunked(names, 300))
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    long_names = ["x" * 10_000 for _ in range(20)]
    byte_chunks = list(chunked(long_names, 300))
    assert all(sum(len(n) + 1 for n in c) <= 65_536 for c in byte_chunks)
    assert [len(c) for c in byte_chunks] == [6, 6, 6, 2]
    assert sum(len(c) for c in byte_chunks) == 20

"""Transient Prometheus failures: retries with backoff and jitter inside the cycle's deadline, Retry-After, size cap."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
import respx

from auditor.collect.client import PrometheusClient, RetryPolicy
from auditor.core.errors import (
    PrometheusHTTPError,
    PrometheusQueryError,
    PrometheusTimeout,
    PrometheusTooLarge,
    PrometheusUnreachable,
)
from tests.support import fake
from tests.support.builders import CLOCK


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(http: httpx.Client, sleeps: Sleeps, attempts: int = 3, max_bytes: int = 2**20) -> PrometheusClient:
    policy = RetryPolicy(attempts=attempts, base_delay=0.5, max_delay=4, sleep=sleeps)
    return PrometheusClient(http, CLOCK, policy, max_bytes)


def test_a_503_then_an_answer_is_one_success(router: respx.MockRouter, http: httpx.Client) -> None:
    route = router.get("/api/v1/status/buildinfo").mock(
        side_effect=[httpx.Response(503, text="upstream busy"), httpx.Response(200, json=fake.buildinfo("2.53.0"))]
    )
    sleeps = Sleeps()
    prom = client(http, sleeps)
    assert prom.buildinfo().version == "2.53.0"
    assert route.call_count == 2
    assert prom.retries == 1
    assert len(sleeps.calls) == 1
    assert 0 <= sleeps.calls[0] <= 0.5, "full jitter under the first backoff step"


def test_retry_after_is_honoured(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}, text="slow down"),
            httpx.Response(200, json=fake.buildinfo("2.53.0")),
        ]
    )
    sleeps = Sleeps()
    client(http, sleeps).buildinfo()
    assert sleeps.calls == [3.0]


def test_attempts_are_bounded_and_the_last_error_surfaces(router: respx.MockRouter, http: httpx.Client) -> None:
    route = router.get("/api/v1/status/buildinfo").mock(side_effect=httpx.ConnectError("refused"))
    sleeps = Sleeps()
    with pytest.raises(PrometheusUnreachable):
        client(http, sleeps, attempts=4).buildinfo()
    assert route.call_count == 4
    assert len(sleeps.calls) == 3
    assert all(0 <= s <= 4 for s in sleeps.calls)


def test_client_errors_are_not_retried(router: respx.MockRouter, http: httpx.Client) -> None:
    query = router.post("/api/v1/query").respond(400, json={"status": "error", "errorType": "bad_data", "error": "x"})
    page = router.get("/api/v1/status/buildinfo").respond(404, text="404 page not found")
    sleeps = Sleeps()
    prom = client(http, sleeps)
    with pytest.raises(PrometheusQueryError):
        prom.query_vector("x", datetime.now(UTC))
    with pytest.raises(PrometheusHTTPError):
        prom.buildinfo()
    assert (query.call_count, page.call_count, sleeps.calls) == (1, 1, [])


def test_no_retry_past_the_cycle_deadline(router: respx.MockRouter, http: httpx.Client) -> None:
    sleeps = Sleeps()  # no route: respx fails the test if a request is made
    prom = client(http, sleeps, attempts=10)
    with prom.deadline(time.monotonic() - 1), pytest.raises(PrometheusTimeout, match="ran past its deadline"):
        prom.buildinfo()
    assert sleeps.calls == [], "no request starts, and none is retried, once the deadline has passed"


def test_an_answer_over_the_cap_is_refused(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/tsdb").respond(200, content=b"[" + b"1," * 1_000_000 + b"1]")
    with pytest.raises(PrometheusTooLarge, match="larger than 1,048,576 bytes") as info:
        client(http, Sleeps()).tsdb_status()
    assert info.value.reason == "too_large"

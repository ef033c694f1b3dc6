"""The Prometheus client against respx: documented shapes, and every way an answer can be unusable."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import respx

from auditor.collect.client import PrometheusClient
from auditor.collect.connection import build_http_client
from auditor.config.settings import BasicAuth, PrometheusSettings
from auditor.core.errors import (
    PrometheusHTTPError,
    PrometheusQueryError,
    PrometheusResponseError,
    PrometheusTimeout,
    PrometheusUnreachable,
)
from auditor.demo.prometheus import free_port
from tests.support import fake
from tests.support.builders import CLOCK


def test_tsdb_status_parses_head_stats_and_lists(router: respx.MockRouter, http: httpx.Client) -> None:
    route = router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 5, "b": 3}))
    status = PrometheusClient(http, CLOCK).tsdb_status(limit=1000)
    assert route.calls.last.request.url.params["limit"] == "1000"
    assert status.head.num_series == 8
    assert status.series_count_by_metric_name == {"a": 5, "b": 3}
    assert status.label_value_count_by_label_name == {"__name__": 2, "user_id": 7}
    assert status.series_count_by_label_value_pair == {"job=node": 8}


def test_buildinfo_version_tuple(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(json=fake.buildinfo("3.9.1"))
    info = PrometheusClient(http, CLOCK).buildinfo()
    assert info.version == "3.9.1"
    assert info.version_tuple == (3, 9, 1)


def test_query_vector_posts_the_expression(router: respx.MockRouter, http: httpx.Client) -> None:
    route = router.post("/api/v1/query").respond(json=fake.vector({"up": 3}))
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert PrometheusClient(http, CLOCK).query_vector("count(up)", at) == [({"__name__": "up"}, 3.0)]
    form = dict(httpx.QueryParams(route.calls.last.request.content.decode()))
    assert form == {"query": "count(up)\n# metrics-auditor", "time": f"{at.timestamp():.3f}"}, (
        "tagged for the query log"
    )


def test_external_labels_from_the_config_yaml(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/config").respond(json=fake.config({"cluster": "eu1", "replica": "a"}))
    assert PrometheusClient(http, CLOCK).external_labels() == {"cluster": "eu1", "replica": "a"}


def test_html_error_page_is_an_http_error(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").respond(502, html="<html><body><h1>502 Bad Gateway</h1></body></html>")
    with pytest.raises(PrometheusHTTPError, match=r"HTTP 502 .*text/html.*Bad Gateway") as info:
        PrometheusClient(http, CLOCK).buildinfo()
    assert info.value.status_code == 502
    assert info.value.reason == "http_error"


def test_api_error_keeps_prometheus_error_type(router: respx.MockRouter, http: httpx.Client) -> None:
    body = {"status": "error", "errorType": "execution", "error": "query processing would load too many samples"}
    router.post("/api/v1/query").respond(422, json=body)
    with pytest.raises(PrometheusQueryError, match="HTTP 422: execution: query processing") as info:
        PrometheusClient(http, CLOCK).query_vector("count(x)", datetime.now(UTC))
    assert info.value.error_type == "execution"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"status": "success", "data": {"headStats": ', "not a JSON object"),
        (b"", "not a JSON object .*empty body"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"status": "success", "data": {"headStats": {"numSeries": -4}}}', r"data.headStats.numSeries"),
        (b'{"status": "success", "data": {"headStats": {"numSeries": "many"}}}', r"data.headStats.numSeries"),
        (b'{"status": "success"}', "unexpected response shape at data"),
        (b'{"status": "weird", "data": {}}', "unexpected status 'weird'"),
        (b"[" * 100_000 + b"]" * 100_000, "not a JSON object"),
    ],
)
def test_malformed_bodies_are_response_errors(
    router: respx.MockRouter, http: httpx.Client, body: bytes, message: str
) -> None:
    router.get("/api/v1/status/tsdb").respond(200, content=body, headers={"content-type": "application/json"})
    with pytest.raises(PrometheusResponseError, match=message):
        PrometheusClient(http, CLOCK).tsdb_status()


def test_non_vector_result_is_rejected(router: respx.MockRouter, http: httpx.Client) -> None:
    router.post("/api/v1/query").respond(json=fake.ok({"resultType": "scalar", "result": [1, "2"]}))
    with pytest.raises(PrometheusResponseError):
        PrometheusClient(http, CLOCK).query_vector("1", datetime.now(UTC))


def test_timeout_is_mapped(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/buildinfo").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(PrometheusTimeout, match="timed out"):
        PrometheusClient(http, CLOCK).buildinfo()


def test_connection_refused_on_a_real_closed_port() -> None:
    port = free_port()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as http, pytest.raises(PrometheusUnreachable):
        PrometheusClient(http, CLOCK).buildinfo()


def test_bearer_token_file_is_read_on_every_request(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=fake.buildinfo("2.53.0"))

    http = build_http_client(fake.BASE, PrometheusSettings(bearer_token_file=token), httpx.MockTransport(handler))
    client = PrometheusClient(http, CLOCK)
    client.buildinfo()
    token.write_text("rotated\n")
    client.buildinfo()
    assert seen == ["Bearer first", "Bearer rotated"]


def test_basic_auth_password_file(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=fake.buildinfo("2.53.0"))

    settings = PrometheusSettings(basic_auth=BasicAuth(username="auditor", password_file=password))
    http = build_http_client(fake.BASE, settings, httpx.MockTransport(handler))
    PrometheusClient(http, CLOCK).buildinfo()
    assert seen[0].headers["authorization"] == "Basic " + base64.b64encode(b"auditor:s3cret").decode()
    assert seen[0].headers["user-agent"].startswith("metrics-auditor/")


def test_rules_of_the_documented_shape(router: respx.MockRouter, http: httpx.Client) -> None:
    group = {
        "name": "g",
        "file": "/etc/prometheus/rules.yml",
        "interval": 30,
        "limit": 0,
        "rules": [
            {
                "name": "job:up:sum",
                "query": "sum by (job) (up)",
                "labels": {"team": "sre"},
                "health": "ok",
                "type": "recording",
                "evaluationTime": 0.001,
                "lastEvaluation": "2026-11-22T12:00:00Z",
            },
            {
                "name": "Down",
                "query": "up == 0",
                "health": "err",
                "lastError": "boom",
                "type": "alerting",
                "state": "inactive",
                "duration": 300,
                "alerts": [],
            },
        ],
    }
    router.get("/api/v1/rules").respond(json=fake.ok({"groups": [group]}))
    [loaded] = PrometheusClient(http, CLOCK).rules()
    assert (loaded.name, loaded.interval_seconds, loaded.limit) == ("g", 30, 0)
    recording, alerting = loaded.rules
    assert (recording.type, recording.query, recording.labels) == ("recording", "sum by (job) (up)", {"team": "sre"})
    assert (alerting.type, alerting.labels, alerting.last_error) == ("alerting", {}, "boom")


@pytest.mark.parametrize("value", ["NaN", "+Inf", "1e30"])
def test_count_values_out_of_range_are_response_errors(
    router: respx.MockRouter, http: httpx.Client, value: str
) -> None:
    body = fake.ok({"resultType": "vector", "result": [{"metric": {"__name__": "a"}, "value": [1.0, value]}]})
    router.post("/api/v1/query").respond(json=body)
    with pytest.raises(PrometheusResponseError):
        PrometheusClient(http, CLOCK).query_vector("count(a)", datetime.now(UTC))


def test_series_counts_beyond_int64_are_response_errors(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 2**64}, head_series=5))
    with pytest.raises(PrometheusResponseError, match="seriesCountByMetricName"):
        PrometheusClient(http, CLOCK).tsdb_status()

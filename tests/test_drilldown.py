"""Drill-down bounds, against respx: a metric is done whole or skipped, and skips are reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import respx

from auditor.collect.census import Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.drilldown import Drilldown
from auditor.config.settings import DrilldownSettings
from auditor.core.domain import LabelStats
from auditor.core.promql import name_selector as selector
from tests.support import fake
from tests.support.builders import CLOCK
from tests.support.fake import untagged

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def prepare(router: respx.MockRouter) -> None:
    router.get("/api/v1/labels").respond(json=fake.ok(["__name__", "job", "user_id"]))
    router.get("/api/v1/label/job/values").respond(json=fake.ok(["node"]))
    router.get("/api/v1/label/user_id/values").respond(json=fake.ok([f"u{i}" for i in range(40)]))


def test_request_bound_skips_whole_metrics(router: respx.MockRouter, http: httpx.Client) -> None:
    prepare(router)
    drill = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings(max_requests=4))
    result = drill.run(["m1", "m2", "m3"], set(), NOW, Deadline.after(30, CLOCK.monotonic))
    assert set(result.labels) == {"m1", "m2"}
    assert result.labels["m1"] == {"job": LabelStats(1), "user_id": LabelStats(40)}
    assert result.skipped == ["m3"]
    assert result.requests == 6
    matches = {call.request.url.params["match[]"] for call in router.calls}
    assert matches == {selector("m1"), selector("m2")}


def test_byte_and_metric_bounds(router: respx.MockRouter, http: httpx.Client) -> None:
    prepare(router)
    by_bytes = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings(max_bytes=1)).run(
        ["m1", "m2"], set(), NOW, Deadline.after(30, CLOCK.monotonic)
    )
    assert (set(by_bytes.labels), by_bytes.skipped) == ({"m1"}, ["m2"])
    by_count = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings(max_metrics=1)).run(
        ["m1", "m2", "m3"], set(), NOW, Deadline.after(30, CLOCK.monotonic)
    )
    assert (set(by_count.labels), by_count.skipped) == ({"m1"}, ["m2", "m3"])
    assert by_bytes.bytes > 0


def test_offenders_get_the_proof_pair_for_their_labels(router: respx.MockRouter, http: httpx.Client) -> None:
    """``count(m)`` and ``count(count without (L) (m))`` for the labels with most values; job is never proven."""
    prepare(router)
    counted = fake.ok({"resultType": "vector", "result": [{"metric": {}, "value": [1, "40"]}]})
    without = fake.ok({"resultType": "vector", "result": [{"metric": {}, "value": [1, "3"]}]})
    query = router.post("/api/v1/query").mock(side_effect=[httpx.Response(200, json=counted),
                                                           httpx.Response(200, json=without)])  # fmt: skip
    result = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings()).run(
        ["m1"], {"m1"}, NOW, Deadline.after(30, CLOCK.monotonic)
    )
    assert result.labels["m1"]["user_id"] == LabelStats(40, 3, 40)
    assert result.labels["m1"]["job"] == LabelStats(1)
    queries = [untagged(dict(httpx.QueryParams(c.request.content.decode()))["query"]) for c in query.calls]
    assert queries == ['count({__name__="m1"})', 'count(count without (user_id) ({__name__="m1"}))']


def test_a_failing_metric_is_skipped_not_fatal(router: respx.MockRouter, http: httpx.Client) -> None:
    router.get("/api/v1/labels").respond(422, json={"status": "error", "errorType": "execution", "error": "boom"})
    result = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings()).run(
        ["m1"], set(), NOW, Deadline.after(30, CLOCK.monotonic)
    )
    assert (result.labels, result.skipped) == ({}, ["m1"])


def test_http_errors_skip_the_metric_and_timeouts_stop_the_drilldown(
    router: respx.MockRouter, http: httpx.Client
) -> None:
    router.get("/api/v1/labels", params={"match[]": selector("m1")}).respond(404, text="404 page not found")
    router.get("/api/v1/labels", params={"match[]": selector("m2")}).mock(side_effect=httpx.ReadTimeout("slow"))
    result = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings()).run(
        ["m1", "m2", "m3"], set(), NOW, Deadline.after(30, CLOCK.monotonic)
    )
    assert result.labels == {}
    assert result.skipped == ["m1", "m2", "m3"]


def test_a_proof_is_kept_for_its_interval_then_measured_again(router: respx.MockRouter, http: httpx.Client) -> None:
    """A ``count without`` over a large metric costs Prometheus a census or more: once an hour, not every cycle."""
    prepare(router)
    counted = fake.ok({"resultType": "vector", "result": [{"metric": {}, "value": [1, "40"]}]})
    query = router.post("/api/v1/query").respond(json=counted)
    drill = Drilldown(PrometheusClient(http, CLOCK), DrilldownSettings(proof_interval=timedelta(hours=1)))
    for minutes in (0, 5, 55):
        result = drill.run(["m1"], {"m1"}, NOW + timedelta(minutes=minutes), Deadline.after(30, CLOCK.monotonic))
        assert result.labels["m1"]["user_id"] == LabelStats(40, 40, 40)
    assert query.call_count == 2, "measured once, then carried for the hour"
    drill.run(["m1"], {"m1"}, NOW + timedelta(minutes=61), Deadline.after(30, CLOCK.monotonic))
    assert query.call_count == 4, "an hour on: measured again"
    drill.run(["m1"], {"m1"}, NOW + timedelta(minutes=62), Deadline.after(30, CLOCK.monotonic), series={"m1": 41})
    assert query.call_count == 6, "the metric's count moved: measured again at once"

"""The job census against answers a real server will not give on demand: no per-target series, a
configuration that cannot be parsed, thousands of targets and jobs (respx)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import respx

from auditor.collect.client import PrometheusClient
from auditor.collect.jobs import JobCollector
from auditor.collect.optional import OptionalEndpoints
from auditor.config.settings import JobsSettings
from tests.support.builders import CLOCK
from tests.support.fake import ok, untagged

AT = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def answer(rows: list[tuple[dict[str, str], float]]) -> dict[str, Any]:
    return ok({"resultType": "vector", "result": [{"metric": m, "value": [AT.timestamp(), str(v)]} for m, v in rows]})


def prepare(router: respx.MockRouter, rows: dict[str, list[tuple[dict[str, str], float]]], config: Any) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        query = untagged(dict(httpx.QueryParams(request.content.decode()))["query"])
        for key, found in rows.items():
            if query.startswith(key):
                return httpx.Response(200, json=answer(found))
        return httpx.Response(200, json=answer([]))

    router.post("/api/v1/query").mock(side_effect=reply)
    router.get("/api/v1/status/config").mock(return_value=httpx.Response(200, json=config))


def test_a_server_without_per_target_series_gives_an_empty_census(router: respx.MockRouter, http: httpx.Client) -> None:
    prepare(router, {}, ok({"yaml": "global: {}\nscrape_configs: []\n"}))
    census = JobCollector(PrometheusClient(http, CLOCK), JobsSettings(enabled=True)).collect(AT, timedelta(minutes=5))
    assert census is not None
    assert census.jobs == {}


def test_an_unparsable_configuration_leaves_the_limits_unknown_and_is_counted(
    router: respx.MockRouter, http: httpx.Client
) -> None:
    rows = {"sum by (job) (scrape_samples": [({"job": "api"}, 50.0)], "count by (job) (up)": [({"job": "api"}, 1.0)]}
    prepare(router, rows, ok({"yaml": "scrape_configs: {not: [a list"}))
    endpoints = OptionalEndpoints()
    census = JobCollector(PrometheusClient(http, CLOCK), JobsSettings(enabled=True), endpoints).collect(
        AT, timedelta(minutes=5)
    )
    assert census is not None
    assert census.jobs["api"].series == 50
    assert census.jobs["api"].limits is None
    assert census.jobs["api"].sample_limit is None, "unknown, not 'none': no unprotected-job finding"
    assert census.config_known is False
    assert endpoints.view().failures == {("status/config", "bad_response"): 1}


def test_thousands_of_targets_and_jobs_stay_bounded(router: respx.MockRouter, http: httpx.Client) -> None:
    jobs = [f"job-{j:04d}" for j in range(1200)]
    targets = [
        ({"job": "job-0000", "instance": f"10.0.{i // 250}.{i % 250}:9100"}, float(1000 - i % 1000))
        for i in range(3000)
    ]
    prepare(router, {
        "sum by (job) (scrape_samples": [({"job": j}, float(10_000 - i)) for i, j in enumerate(jobs)],
        "count by (job) (up)": [({"job": j}, 3.0) for j in jobs],
        "topk by (job) (3, scrape_samples": targets,   # a server that ignores topk: the census still bounds it
    }, ok({"yaml": "scrape_configs:\n  - job_name: job-0000\n    sample_limit: 2000\n"}))  # fmt: skip
    settings = JobsSettings(enabled=True, top_targets=3, max_jobs=100)
    census = JobCollector(PrometheusClient(http, CLOCK), settings).collect(AT, timedelta(minutes=5))
    assert census is not None
    assert len(census.jobs) == 100
    assert census.truncated == 1100
    assert list(census.jobs)[:2] == ["job-0000", "job-0001"], "the largest jobs are kept"
    largest = census.jobs["job-0000"].largest_targets
    assert [t.series for t in largest] == [1000, 1000, 1000]
    assert census.jobs["job-0000"].limit_usage == 0.5

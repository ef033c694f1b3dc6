"""A respx-backed fake Prometheus for shapes a real 2.42 will not produce (2.45+/3.x, faults).

The router is passed to the client as its transport (no global patching), and the test
fails when a prepared response is never used (``assert_all_called``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

BASE = "http://prometheus.test:9090"


def ok(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


def buildinfo(version: str) -> dict[str, Any]:
    return ok({"version": version, "revision": "abc", "branch": "HEAD", "goVersion": "go1.22"})


def tsdb(metrics: dict[str, int], head_series: int | None = None) -> dict[str, Any]:
    total = sum(metrics.values()) if head_series is None else head_series
    return ok(
        {
            "headStats": {"numSeries": total, "numLabelPairs": 42, "chunkCount": total, "minTime": 1, "maxTime": 2},
            "seriesCountByMetricName": [{"name": n, "value": v} for n, v in metrics.items()],
            "labelValueCountByLabelName": [
                {"name": "__name__", "value": len(metrics)},
                {"name": "user_id", "value": 7},
            ],
            "memoryInBytesByLabelName": [{"name": "__name__", "value": 1234}],
            "seriesCountByLabelValuePair": [{"name": "job=node", "value": total}],
        }
    )


def vector(counts: dict[str, int]) -> dict[str, Any]:
    result = [{"metric": {"__name__": n}, "value": [1700000000.0, str(v)]} for n, v in counts.items()]
    return ok({"resultType": "vector", "result": result})


def config(external_labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = "".join(f"    {k}: {v}\n" for k, v in (external_labels or {}).items())
    text = "global:\n  scrape_interval: 15s\n" + ("  external_labels:\n" + labels if labels else "")
    return ok({"yaml": text})


def rules(groups: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return ok({"groups": groups or []})


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    router = respx.MockRouter(base_url=BASE, assert_all_called=True, assert_all_mocked=True)
    yield router
    router.assert_all_called()


@pytest.fixture
def http(router: respx.MockRouter) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=BASE, transport=httpx.MockTransport(router.handler), timeout=2) as client:
        yield client


def untagged(query: str) -> str:
    """A query as the auditor wrote it, without its tag: what a stand-in for Prometheus answers to."""
    from auditor.core.promql import QUERY_TAG

    return query.removesuffix(f"\n{QUERY_TAG}")


@pytest.fixture
def transport(router: respx.MockRouter) -> httpx.MockTransport:
    """The router as a transport: ``build_auditor(settings, transport=transport)`` runs the production client on it."""
    return httpx.MockTransport(router.handler)

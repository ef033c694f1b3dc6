"""What a census costs a real Prometheus 3.5 holding ~12,000 metric names and ~100,000 series.

A generated exporter (one 60,000-series metric with a label of 60,000 values, the shape a cardinality
problem has, nine of 2,000, and ~12,000 small ones) is scraped by
Prometheus 3.5 (``scripts/fetch-servers``). For each way of taking a census, and for the naive
``count by (__name__) ({__name__=~".+"})``, it measures Prometheus' own CPU seconds (its
``process_cpu_seconds_total`` before and after, median of 15 runs, scrapes 30 s apart so that
ingestion rarely falls inside a run; the counter ticks in 10 ms, so single runs move by that much) and
the requests made; for whole audit cycles also the auditor's time beyond the fetch.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from auditor.app.wiring import build_auditor
from auditor.collect.census import CensusCollector, Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.drilldown import Drilldown
from auditor.collect.label_policy import LabelPolicyScan
from auditor.config.budgets import load_budgets
from auditor.config.settings import CensusSettings, DrilldownSettings, LabelPolicySettings, Settings
from auditor.demo.exporter import Exporter
from auditor.store import make_engine, upgrade
from bench.cycle_worker import TimingTransport
from tests.support.builders import CLOCK, utc_now
from tests.support.servers import SERVERS, Server, counted_by_server, truth, wait_until

RUNS = 15
POLICIES = {
    "labels_denied: [session_id] (60,000 series carry it)": "defaults: {labels_denied: [session_id]}\n",
    "labels_allowed: [code] (forbids session_id and id: 12,009 metrics carry id)": (
        "defaults: {labels_allowed: [code]}\n"
    ),
}
"""The label-policy scan (issue 15): its cost follows the series carrying a forbidden label, not the metrics."""
WAYS = ((100, 2_000), (100, 1_000), (1_000, 2_000), (10_000, 2_000))
"""(TSDB status limit, names per count query)."""


def exporter() -> Exporter:
    shape = Exporter()
    shape.set("huge_sessions", 60_000, label="session_id")
    for i in range(9):
        shape.set(f"large_metric_{i}", labels={"id": 200, "code": 10})
    for i in range(12_000):
        shape.set(f"small_metric_{i:05d}", 1 + i % 3)
    return shape


def cpu_seconds(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    for family in text_string_to_metric_families(text):
        if family.name == "process_cpu_seconds":
            return float(family.samples[0].value)
    raise RuntimeError("no process_cpu_seconds_total in Prometheus' /metrics")


def prometheus_cost(url: str, operation: Callable[[], int]) -> dict[str, float]:
    """Median CPU seconds of Prometheus and wall seconds of ``operation`` (which returns its request count)."""
    cpu, wall, requests = [], [], 0
    for _ in range(RUNS):
        time.sleep(1.1)  # another second: the census asks with another limit, never from the 30 s cache
        before = cpu_seconds(url)
        started = time.perf_counter()
        requests = operation()
        wall.append(time.perf_counter() - started)
        cpu.append(cpu_seconds(url) - before)
    return {"prometheus_cpu_s": statistics.median(cpu), "wall_s": statistics.median(wall), "requests": requests}


def naive(url: str) -> int:
    form = {"query": 'count by (__name__) ({__name__=~".+"})'}
    httpx.post(f"{url}/api/v1/query", data=form, timeout=120).raise_for_status()
    return 1


def census_only(url: str, limit: int, chunk: int) -> Callable[[], int]:
    def run() -> int:
        with httpx.Client(base_url=url, timeout=120) as http:
            client = PrometheusClient(http, CLOCK)
            CensusCollector(client, CensusSettings(tsdb_limit=limit, chunk_size=chunk), CLOCK).collect(
                "bench", Deadline.after(300, CLOCK.monotonic)
            )
            return client.requests

    return run


def policy_scan(url: str, budgets: str, series: dict[str, int]) -> Callable[[], int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "budgets.yml"
        path.write_text(budgets)
        loaded = load_budgets(path, utc_now().date())

    def run() -> int:
        with httpx.Client(base_url=url, timeout=120) as http:
            client = PrometheusClient(http, CLOCK)
            scan = LabelPolicyScan(client, LabelPolicySettings(max_queries=1000, max_time=timedelta(minutes=5)))
            scan.run(loaded, series, utc_now(), Deadline.after(300, CLOCK.monotonic))
            return client.requests

    return run


OFFENDERS = ["huge_sessions", *(f"large_metric_{i}" for i in range(9))]
"""Ten offenders: the 60,000-series metric (one label of 60,000 values) and nine of 2,000 (id x code)."""


def drilldown(url: str, *, proofs: bool) -> Callable[[], int]:
    """The drill-down of the ten offenders, with the proof queries of issue 27 (``count(m)`` beside
    ``count(count without (L) (m))`` for up to three labels each), or without them."""

    def run() -> int:
        with httpx.Client(base_url=url, timeout=120) as http:
            client = PrometheusClient(http, CLOCK)
            bounds = DrilldownSettings(max_requests=10_000, max_bytes=1 << 30, max_time=timedelta(minutes=5))
            Drilldown(client, bounds).run(OFFENDERS, set(OFFENDERS) if proofs else set(), utc_now(),
                                          Deadline.after(300, CLOCK.monotonic))  # fmt: skip
            return client.requests

    return run


def cycles(url: str, limit: int, chunk: int) -> dict[str, Any]:
    """Whole audit cycles (census, drill-down, rules; stored in SQLite): the auditor's time beyond the fetch."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        transport = TimingTransport()
        settings = Settings(
            prometheus_url=url, source="bench", census=CensusSettings(tsdb_limit=limit, chunk_size=chunk)
        )
        beyond, requests = [], 0
        with build_auditor(settings, transport=transport, engine=engine) as auditor:
            for _ in range(RUNS):
                time.sleep(1.1)
                transport.seconds = 0.0
                before = auditor.prometheus.requests
                started = time.perf_counter()
                auditor.run_cycle()
                beyond.append(time.perf_counter() - started - transport.seconds)
                requests = auditor.prometheus.requests - before
        engine.dispose()
    return {"auditor_beyond_fetch_s": statistics.median(beyond), "cycle_requests": requests}


def started(shape: Exporter) -> tuple[Server, dict[str, int]]:
    """Prometheus 3.5, and the started exporter's series as that server counts them (the ground truth)."""
    server = SERVERS["3.5"]
    if server.binary is None:
        raise RuntimeError("Prometheus 3.5 is missing: run scripts/fetch-servers")
    shape.start()
    return server, truth(shape, server)


def run() -> dict[str, Any]:
    shape = exporter()
    server, expected = started(shape)
    with tempfile.TemporaryDirectory() as tmp:
        prometheus = server.local(Path(tmp), [shape.target], scrape_interval="30s")
        with prometheus:
            wait_until(lambda: counted_by_server(prometheus.url), lambda got: got == expected, 300, "ingestion")
            results: dict[str, Any] = {
                "names": len(expected),
                "series": sum(expected.values()),
                "naive": prometheus_cost(prometheus.url, lambda: naive(prometheus.url)),
            }
            for limit, chunk in WAYS:
                cost = prometheus_cost(prometheus.url, census_only(prometheus.url, limit, chunk))
                results[f"limit={limit}, chunk={chunk}"] = cost | cycles(prometheus.url, limit, chunk)
            results["drilldown_of_10_offenders"] = {
                "without proofs": prometheus_cost(prometheus.url, drilldown(prometheus.url, proofs=False)),
                "with proofs": prometheus_cost(prometheus.url, drilldown(prometheus.url, proofs=True)),
            }
            results["label_policy"] = {
                name: prometheus_cost(prometheus.url, policy_scan(prometheus.url, budgets, expected))
                for name, budgets in POLICIES.items()
            }
    shape.stop()
    return results

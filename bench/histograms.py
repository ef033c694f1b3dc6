"""What the histogram inventory costs a real Prometheus 3.5 (with native histograms) holding 10,000 metric names,
500 of them classic histogram families, next to what a census costs it (docs/benchmarks.md#histogram-inventory).

The exporter serves 9,500 small gauges and 500 histograms of 4 label sets x 9 buckets (44 series each; every
tenth with a bucket that never fills, so the window query runs for 50 families). For the census and for the
inventory of all 500 families it measures Prometheus' CPU seconds (median of the runs), the requests, the wall
time and the auditor's time beyond HTTP.
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

from auditor.collect.census import CensusCollector, Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.histograms import HistogramScan
from auditor.collect.optional import OptionalEndpoints
from auditor.config.settings import CensusSettings, HistogramSettings
from auditor.core.domain import Census
from auditor.demo.exporter import Exporter
from bench.cycle_worker import TimingTransport
from bench.real_census import cpu_seconds, started
from tests.support.builders import CLOCK
from tests.support.servers import counted_by_server, wait_until

RUNS = 7
FAMILIES = 500
BOUNDS = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0]


def exporter() -> Exporter:
    shape = Exporter()
    for i in range(10_000 - FAMILIES):
        shape.set(f"small_metric_{i:05d}", 1 + i % 3)
    for i in range(FAMILIES):
        shape.set_histogram(f"op_{i:03d}_seconds", {"op": 4}, BOUNDS, empty=(10.0,) if i % 10 == 0 else ())
    return shape


def measured(url: str, operation: Callable[[PrometheusClient], object]) -> dict[str, float]:
    cpu, wall, beyond, answering, requests = [], [], [], [], 0
    for _ in range(RUNS):
        time.sleep(1.1)
        transport = TimingTransport()
        with httpx.Client(base_url=url, timeout=120, transport=transport) as http:
            client = PrometheusClient(http, CLOCK)
            before = cpu_seconds(url)
            started = time.perf_counter()
            operation(client)
            wall.append(time.perf_counter() - started)
            cpu.append(cpu_seconds(url) - before)
            beyond.append(wall[-1] - transport.seconds)
            answering.append(transport.seconds)
            requests = client.requests
    return {"prometheus_cpu_s": statistics.median(cpu), "wall_s": statistics.median(wall),
            "prometheus_answering_s": statistics.median(answering), "auditor_beyond_http_s": statistics.median(beyond),
            "requests": requests}  # fmt: skip


def census_of(client: PrometheusClient) -> Census:
    collector = CensusCollector(client, CensusSettings(), CLOCK)
    return collector.collect("bench", Deadline.after(300, CLOCK.monotonic))


def run() -> dict[str, Any]:
    shape = exporter()
    server, expected = started(shape)
    bounds = HistogramSettings(max_families=FAMILIES, max_queries=10_000, window=timedelta(hours=1))
    found: list[int] = []

    def inventory(client: PrometheusClient) -> None:
        census = census_of(client)
        started = client.requests
        scan = HistogramScan(client, bounds, OptionalEndpoints())
        result = scan.run(census, Deadline.after(300, CLOCK.monotonic))
        assert result.inventory is not None
        found[:] = [len(result.inventory.families), sum(bool(f.empty_buckets) for f in result.inventory.families)]
        client.requests = client.requests - started  # the inventory's own requests

    with tempfile.TemporaryDirectory() as tmp:
        prometheus = server.local(Path(tmp), [shape.target], scrape_interval="30s",
                                  extra_args=["--enable-feature=native-histograms"])  # fmt: skip
        with prometheus:
            wait_until(lambda: counted_by_server(prometheus.url), lambda got: got == expected, 300, "ingestion")
            shape.wait_for_scrapes(2, timeout=120)  # the window's increase needs two samples of every series
            census = measured(prometheus.url, census_of)
            both = measured(prometheus.url, inventory)
    shape.stop()
    only = {k: both[k] - census[k]
            for k in ("prometheus_cpu_s", "wall_s", "prometheus_answering_s", "auditor_beyond_http_s")}  # fmt: skip
    return {"names": len(expected), "series": sum(expected.values()), "families": found[0], "with_empty": found[1],
            "census": census, "inventory": only | {"requests": both["requests"]}}  # fmt: skip


def report(r: dict[str, Any]) -> None:
    print(f"\nhistogram inventory on a real Prometheus 3.5 ({r['names']:,} names, {r['series']:,} series, "
          f"{r['families']} classic histograms measured, {r['with_empty']} with a bucket that never fills; "
          f"median of {RUNS}):")  # fmt: skip
    for name in ("census", "inventory"):
        x = r[name]
        print(f"  {name:<10} {x['requests']:>4} requests  Prometheus CPU {x['prometheus_cpu_s']:.2f} s  "
              f"answering {x['prometheus_answering_s']:.2f} s  wall {x['wall_s']:.2f} s  "
              f"auditor beyond HTTP {x['auditor_beyond_http_s']:.2f} s")  # fmt: skip

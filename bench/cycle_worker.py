"""One benchmark process: N audit cycles against the fake Prometheus; prints JSON figures.

Run in its own process so that peak RSS is the auditor's alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from typing import Any

import httpx

from auditor.app.wiring import build_auditor
from auditor.config.settings import CensusSettings, Settings
from auditor.store import make_engine, upgrade


class TimingTransport(httpx.HTTPTransport):
    """Counts the time spent in HTTP, body read included: Prometheus' side of a cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0
        self.bytes = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = super().handle_request(request)
        body = response.read()  # decoded: the rebuilt answer must not claim gzip any more
        self.seconds += time.perf_counter() - started
        self.bytes += len(body)
        headers = [
            (k, v) for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=request)


def run(url: str, database_url: str, cycles: int, tsdb_limit: int, budgets: str | None = None) -> dict[str, Any]:
    engine = make_engine(database_url)
    upgrade(engine)
    transport = TimingTransport()
    settings = Settings(
        prometheus_url=url,
        database_url=database_url,
        source="bench",
        census=CensusSettings(tsdb_limit=tsdb_limit),
        budgets_file=budgets,
    )
    totals, fetches, beyond = [], [], []
    with build_auditor(settings, transport=transport, engine=engine) as auditor:
        auditor.source()
        for _ in range(cycles):
            transport.seconds, transport.bytes = 0.0, 0
            started = time.perf_counter()
            census = auditor.run_cycle()
            total = time.perf_counter() - started
            totals.append(total)
            fetches.append(transport.seconds)
            beyond.append(total - transport.seconds)
    engine.dispose()
    return {
        "metrics": len(census.metrics),
        "method": census.method.value,
        "cycles": cycles,
        "response_bytes": transport.bytes,
        "total_s": statistics.median(totals),
        "fetch_s": statistics.median(fetches),
        "auditor_s": statistics.median(beyond),
        "auditor_s_max": max(beyond),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cycles", type=int, default=7)
    parser.add_argument("--tsdb-limit", type=int, default=20_000)
    parser.add_argument("--budgets", help="budgets file (default: none, the built-in defaults)")
    args = parser.parse_args()
    print(json.dumps(run(args.url, args.database_url, args.cycles, args.tsdb_limit, args.budgets)))

"""A loopback Prometheus stand-in serving a synthetic census of N metrics, in its own process.

Answers buildinfo, the TSDB status (the largest `limit` metrics, as 2.45+ does; all N without a `limit`),
`__name__` label values and `count by (__name__)` instant queries (as the pre-2.45 path asks), and, with
``--jobs J --targets T``, the job census' queries over J scrape jobs of T targets each (half of the jobs
with a `sample_limit`).
"""

from __future__ import annotations

import argparse
import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from auditor.core.promql import QUERY_TAG


def synthetic_metrics(count: int) -> dict[str, int]:
    """A long-tailed census: a few huge metrics, many small ones."""
    return {f"bench_metric_{i:05d}_total": max(1, 50_000 // (i + 1)) for i in range(count)}


def _ok(data: Any) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()


def _vector(rows: list[tuple[dict[str, str], float]]) -> bytes:
    return _ok({"resultType": "vector", "result": [{"metric": m, "value": [1.0, str(v)]} for m, v in rows]})


class Jobs:
    """J jobs of T targets; target t of job j keeps 100 + 10 t samples per scrape and adds t series."""

    def __init__(self, jobs: int, targets: int) -> None:
        self.names = [f"bench-job-{j:03d}" for j in range(jobs)]
        self.targets = targets
        per_job = sum(100 + 10 * t for t in range(targets))
        added = sum(range(targets))
        self.answers = {
            "sum by (job) (scrape_samples": _vector([({"job": j}, per_job) for j in self.names]),
            "count by (job) (up)": _vector([({"job": j}, targets) for j in self.names]),
            "sum by (job) (sum_over_time": _vector([({"job": j}, added) for j in self.names]),
        }
        configs = "".join(
            f"  - job_name: {j}\n" + (f"    sample_limit: {100 + 10 * targets + 50}\n" if i % 2 else "")
            for i, j in enumerate(self.names)
        )
        self.config = _ok({"yaml": "global:\n  external_labels:\n    cluster: bench\nscrape_configs:\n" + configs})

    def answer(self, query: str) -> bytes | None:
        for prefix, body in self.answers.items():
            if query.startswith(prefix):
                return body
        match = re.match(r"topk by \(job\) \((\d+), ", query)
        if match is None:
            return None
        top = int(match.group(1))
        churn = "scrape_series_added" in query
        rows = [
            ({"job": j, "instance": f"10.0.{i}.{t}:9100"}, float(t if churn else 100 + 10 * t))
            for i, j in enumerate(self.names)
            for t in range(self.targets - 1, max(-1, self.targets - 1 - top), -1)
        ]
        return _vector(rows)


class Bodies:
    def __init__(self, count: int, version: str, jobs: Jobs | None = None) -> None:
        self.jobs = jobs
        self.metrics = synthetic_metrics(count)
        self.buildinfo = _ok({"version": version, "revision": "bench", "branch": "bench", "goVersion": "go"})
        total = sum(self.metrics.values())
        self._head = {"numSeries": total, "numLabelPairs": count * 3, "chunkCount": total, "minTime": 0, "maxTime": 1}
        self._tsdb: dict[int | None, bytes] = {}
        self.tsdb = self.tsdb_status(None)
        self.names = _ok(sorted(self.metrics))
        self.config = jobs.config if jobs else _ok({"yaml": "global:\n  external_labels:\n    cluster: bench\n"})
        self.labels = _ok(["__name__", "instance", "job", "id"])
        self.rules = _ok({"groups": []})
        self.values = _ok([f"value-{i}" for i in range(50)])
        self.without = _ok({"resultType": "vector", "result": [{"metric": {}, "value": [1.0, "10"]}]})

    def tsdb_status(self, limit: int | None) -> bytes:
        if limit not in self._tsdb:
            largest = sorted(self.metrics.items(), key=lambda kv: -kv[1])[:limit]
            self._tsdb[limit] = self._status([{"name": n, "value": v} for n, v in largest])
        return self._tsdb[limit]

    def _status(self, pairs: list[dict[str, Any]]) -> bytes:
        return _ok(
            {
                "headStats": self._head,
                "seriesCountByMetricName": pairs,
                "labelValueCountByLabelName": [{"name": f"label_{i}", "value": 100 - i} for i in range(100)],
                "memoryInBytesByLabelName": [{"name": f"label_{i}", "value": 10_000 - i} for i in range(100)],
                "seriesCountByLabelValuePair": [{"name": f"job=j{i}", "value": 1000 - i} for i in range(100)],
            }
        )

    def count(self, query: str) -> bytes:
        answered = self.jobs.answer(query) if self.jobs else None
        if answered is not None:
            return answered
        if query.startswith("count(count without"):
            return self.without
        match = re.search(r'__name__=~"(.*)"', query)
        names = match.group(1).split("|") if match else []
        result = [{"metric": {"__name__": n}, "value": [1.0, str(self.metrics[n])]} for n in names if n in self.metrics]
        return _ok({"resultType": "vector", "result": result})


def serve(port: int, bodies: Bodies) -> None:
    routes = {
        "/api/v1/status/buildinfo": bodies.buildinfo,
        "/api/v1/status/tsdb": bodies.tsdb,
        "/api/v1/label/__name__/values": bodies.names,
        "/api/v1/status/config": bodies.config,
        "/api/v1/labels": bodies.labels,
        "/api/v1/rules": bodies.rules,
    }

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body would otherwise wait for a delayed ACK

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = url.path
            if path == "/api/v1/status/tsdb":
                limit = parse_qs(url.query).get("limit")
                self._send(bodies.tsdb_status(int(limit[0]) if limit else None))
                return
            is_values = path.startswith("/api/v1/label/") and path != "/api/v1/label/__name__/values"
            self._send(bodies.values if is_values else routes.get(path))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            self._send(bodies.count(form.get("query", [""])[0].removesuffix(f"\n{QUERY_TAG}")))

        def _send(self, body: bytes | None) -> None:
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--version", default="2.53.0")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--targets", type=int, default=20, help="targets per job")
    args = parser.parse_args()
    serve(args.port, Bodies(args.metrics, args.version, Jobs(args.jobs, args.targets) if args.jobs else None))

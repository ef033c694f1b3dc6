"""Reading the query log (issues 17, 27): 1,000,000 lines shaped like a busy Grafana, in a process of its own,
credited to metrics and to the labels each query reads.

    python -m bench.querylog            # generate the log, read it in a worker, print lines/s and peak RSS

The log: 2,000 distinct dashboard queries (range queries over 10,000 metric names, a fifth with
``__name__`` regexes) sent through the API, rule evaluations for one line in ten, and the auditor's own
tagged queries for one in fifty; Prometheus 3's field names. The worker reads it as the daemon does, in
``AUDITOR_USAGE__MAX_BYTES`` (64 MiB) steps, and reports lines per second and its peak RSS.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.builders import CLOCK

LINES, METRICS, QUERIES = 1_000_000, 10_000, 2_000
MAX_BYTES = 64 * 2**20


def names() -> list[str]:
    return [f"app_{i // 100:03d}_metric_{i % 100:02d}_total" for i in range(METRICS)]


def queries(rng: random.Random) -> list[str]:
    metrics = names()
    out = []
    for i in range(QUERIES):
        m = rng.choice(metrics)
        if i % 5 == 0:
            out.append(f'sum by (job) ({{__name__=~"{m[:8]}.*_total", job=~"$job"}})'.replace("$job", "api|web"))
        elif i % 3 == 0:
            out.append(f"histogram_quantile(0.99, sum by (le) (rate({m}[5m]))) / on() group_left sum(rate({m}[5m]))")
        else:
            out.append(f'sum by (instance) (rate({m}{{job="api", code=~"5.."}}[1m]))')
    return out


def generate(path: Path, seed: int = 17) -> int:
    rng = random.Random(seed)
    pool = queries(rng)
    with path.open("w") as out:
        for i in range(LINES):
            query = pool[rng.randrange(len(pool))]
            entry: dict[str, Any] = {
                "time": f"2026-11-{1 + i * 29 // LINES:02d}T10:{i % 60:02d}:00.123456789Z", "level": "INFO",
                "source": "engine.go:662", "msg": "promql query logged",
                "params": {"end": "2026-11-20T10:00:00Z", "query": query, "start": "2026-11-20T09:00:00Z", "step": 30},
                "stats": {"timings": {"evalTotalTime": 0.0012, "execTotalTime": 0.0013}},
            }  # fmt: skip
            if i % 10 == 0:
                entry["ruleGroup"] = {"file": "/etc/prometheus/rules.yml", "name": "app"}
            else:
                entry["httpRequest"] = {"clientIP": "10.0.0.7", "method": "POST", "path": "/api/v1/query_range"}
            if i % 50 == 0:
                entry["params"]["query"] = 'count by (__name__) ({__name__!=""})\n# metrics-auditor'
            out.write(json.dumps(entry) + "\n")
    return path.stat().st_size


def worker(path: Path) -> dict[str, Any]:
    from auditor.collect.querylog import QueryLogReader
    from auditor.core.usage import Credit

    reader = QueryLogReader(path, max_bytes=MAX_BYTES, max_seconds=600, monotonic=CLOCK.monotonic)
    credit, position, lines, reads, credited, keys = Credit(names()), None, 0, 0, 0, 0
    started = time.perf_counter()
    while True:
        batch = reader.read(position, credit)
        lines, reads, position = lines + batch.lines, reads + 1, batch.position
        credited += sum(batch.counts.values())
        keys += len(batch.labels)
        if not batch.behind_bytes:
            break
    seconds = time.perf_counter() - started
    return {
        "lines": lines, "seconds": seconds, "lines_per_s": lines / seconds, "reads": reads, "credited": credited,
        "label_keys": keys, "peak_rss_mib": _peak_rss_mib(),
    }  # fmt: skip


def _peak_rss_mib() -> float:
    """This process's own peak RSS: ``VmHWM`` belongs to its memory map, which ``ru_maxrss`` is not (on Linux it
    carries the parent's peak across the fork and exec that started this worker)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "query.log"
        size = generate(path)
        out = subprocess.run(
            [sys.executable, "-m", "bench.querylog", "--worker", str(path)], capture_output=True, text=True, check=True
        )
    return {"bytes": size, **json.loads(out.stdout)}


def report(r: dict[str, Any]) -> None:
    print(
        f"query log, metric and label level: {r['lines']:,} lines ({r['bytes'] / 2**20:,.0f} MiB) in {r['reads']} "
        f"reads of {MAX_BYTES // 2**20} MiB, {r['label_keys']:,} (day, metric, label) keys: {r['lines_per_s']:,.0f} "
        f"lines/s, peak RSS {r['peak_rss_mib']:.0f} MiB (targets: at least 50,000 lines/s, under 150 MiB; the metric "
        "level alone, before label reads: docs/benchmarks.md)"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        print(json.dumps(worker(Path(sys.argv[2]))))
    else:
        report(run())

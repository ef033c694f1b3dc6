"""What ``plan`` costs on a large exporter (docs/benchmarks.md#plan): 100,000 series in 100 metrics, parsed,
relabeled by five rules (a replace with a group, a labeldrop, a hashmod, a keep and a labelmap) and judged by the
cycle's checks against the repository's budgets file. Median of 5 runs, with the peak memory of one."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auditor.config.budgets import load_budgets
from auditor.config.relabel import relabel_rules
from auditor.core.exposition import parse_exposition
from auditor.evaluate.plan import PlanInput, plan

ROOT = Path(__file__).resolve().parent.parent
SERIES = 100_000
RUNS = 5
RULES = [
    {"source_labels": ["path"], "regex": "/api/(\\w+)/.*", "target_label": "area"},
    {"action": "labeldrop", "regex": "pod_ip"},
    {"action": "hashmod", "source_labels": ["id"], "modulus": 16, "target_label": "shard"},
    {"action": "keep", "source_labels": ["__name__"], "regex": "bench_.*"},
    {"action": "labelmap", "regex": "(zone)", "replacement": "${1}_copy"},
]


def exposition() -> str:
    lines = []
    for m in range(100):
        lines.append(f"# TYPE bench_metric_{m:03d} gauge")
        lines += [f'bench_metric_{m:03d}{{id="{i}",path="/api/users/{i}",pod_ip="10.0.0.1",zone="z{i % 3}"}} 1'
                  for i in range(SERIES // 100)]  # fmt: skip
    return "\n".join(lines) + "\n"


def run() -> dict[str, Any]:
    text = exposition()
    rules = relabel_rules(RULES, "bench")
    budgets = load_budgets(ROOT / "rules" / "budgets.yml", datetime.now(UTC).date())
    parse_s, plan_s = [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        parsed = parse_exposition(text, "bench")
        parse_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = plan(PlanInput(parsed, rules, "bench", 10, "bench:9100", budgets, datetime.now(UTC)))
        plan_s.append(time.perf_counter() - started)
    tracemalloc.start()
    plan(PlanInput(parse_exposition(text, "bench"), rules, "bench", 10, "bench:9100", budgets, datetime.now(UTC)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"series": SERIES, "parse_s": statistics.median(parse_s), "plan_s": statistics.median(plan_s),
            "peak_mib": peak / 2**20, "series_after": result.series_after,
            "violations": len(result.violations)}  # fmt: skip


def report(r: dict[str, Any]) -> None:
    print(f"\nplan of one exposition of {r['series']:,} series (5 relabel rules, the repository's budgets; median of "
          f"{RUNS}): parse {r['parse_s']:.2f} s, relabel and judge {r['plan_s']:.2f} s, peak {r['peak_mib']:.0f} MiB; "
          f"{r['series_after']:,} series after x 10 targets, {r['violations']} violations")  # fmt: skip

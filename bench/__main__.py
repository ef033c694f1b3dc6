"""`make bench`: audit-cycle figures against the targets of docs/benchmarks.md, printed and written as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from auditor.demo.prometheus import free_port
from bench import cli_startup, exposition, real_census, real_rules, rules, sources
from bench import histograms as histograms_bench
from bench import jobs as jobs_bench
from bench import plan as plan_bench
from bench import querylog as querylog_bench
from bench import report as report_bench

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_SERVER = os.environ.get("AUDITOR_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TABLES = ("snapshots", "metric_names", "metric_series", "label_stats", "sources")
METRICS = 10_000


@contextmanager
def fake_prometheus(version: str, *extra: str) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.fake_prometheus", "--port", str(port), "--metrics", str(METRICS)]
    process = subprocess.Popen([*cmd, "--version", version, *extra], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{url}/api/v1/status/buildinfo", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait()


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"auditor_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_SERVER.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def worker(url: str, database_url: str, cycles: int, *extra: str) -> dict[str, Any]:
    command = ["-m", "bench.cycle_worker", "--url", url, "--database-url", database_url, "--cycles", str(cycles)]
    # Outside the checkout, so that rules/budgets.yml is used only when a scenario asks for it.
    with tempfile.TemporaryDirectory() as elsewhere:
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        out = subprocess.run(
            [sys.executable, *command, *extra], cwd=elsewhere, env=env, capture_output=True, text=True, check=True
        )
    return dict(json.loads(out.stdout))


def postgres_footprint(database_url: str) -> dict[str, int]:
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        size = sum(conn.execute(f"SELECT pg_total_relation_size('{t}')").fetchone()[0] for t in TABLES)  # type: ignore[index]
        rows = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)  # type: ignore[index]
    return {"bytes": size, "rows": rows}


def cycle_on_postgres(url: str, cycles: int, *extra: str) -> dict[str, Any]:
    with postgres_database() as database_url:
        first = worker(url, database_url, 1, *extra)
        after_one = postgres_footprint(database_url)
        result = worker(url, database_url, cycles, *extra)
        after_all = postgres_footprint(database_url)
    result["rows_per_cycle"] = (after_all["rows"] - after_one["rows"]) / cycles
    result["bytes_per_cycle"] = (after_all["bytes"] - after_one["bytes"]) / cycles
    result["first_cycle_auditor_s"] = first["auditor_s"]
    return result


def cycle_on_sqlite(url: str, cycles: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return worker(url, f"sqlite:///{tmp}/bench.db", cycles)


def main() -> int:
    cycles = int(os.environ.get("BENCH_CYCLES", "7"))
    results: dict[str, Any] = {"metrics": METRICS, "cycles": cycles}
    for label, version in (("tsdb_status", "2.53.0"), ("count_by_name", "2.42.0")):
        with fake_prometheus(version) as url:
            results[f"{label}/postgres"] = cycle_on_postgres(url, cycles)
            results[f"{label}/sqlite"] = cycle_on_sqlite(url, cycles)
            if label == "tsdb_status":
                results["cli_startup"] = cli_startup.run(url)
                example = str(ROOT / "rules" / "budgets.yml")
                results[f"{label}/postgres + rules/budgets.yml"] = cycle_on_postgres(url, cycles, "--budgets", example)
                # The default limit (100): the largest metrics from the list, the other 9,900 counted.
                mixed = cycle_on_postgres(url, cycles, "--tsdb-limit", "100")
                results["tsdb_status+count (default limit)/postgres"] = mixed
    with fake_prometheus("2.53.0", "--jobs", str(jobs_bench.JOBS), "--targets", str(jobs_bench.TARGETS)) as url:
        results["jobs"] = jobs_bench.run(url)
    results["query_log"] = querylog_bench.run()
    results["real_census"] = real_census.run()
    results["histograms"] = histograms_bench.run()
    results["plan"] = plan_bench.run()
    results["exposition"] = exposition.run()
    results["rules_diff"] = rules.run()
    results["real_rules"] = real_rules.bench_figures()
    with postgres_database() as database_url:
        results["report"] = report_bench.run(database_url)
    with postgres_database() as database_url:
        results["sources"] = sources.run(database_url)
    report(results)
    report_real_census(results["real_census"])
    histograms_bench.report(results["histograms"])
    plan_bench.report(results["plan"])
    report_exposition(results["exposition"])
    report_rules(results["rules_diff"])
    cli_startup.report(results["cli_startup"])
    report_jobs(results["jobs"])
    querylog_bench.report(results["query_log"])
    if results["real_rules"] is None:
        print(f"real-world rule corpus not found at {real_rules.CORPUS} (AUDITOR_REAL_RULES): its figure is skipped")
    else:
        real_rules.report_timing(results["real_rules"])
    report_report(results["report"])
    report_sources(results["sources"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {RESULTS / 'latest.json'}")
    return 0


def report(results: dict[str, Any]) -> None:
    table = Table(title=f"audit cycle over {METRICS:,} metrics (median of {results['cycles']} cycles)")
    for column in (
        "scenario",
        "Prometheus fetch",
        "auditor beyond fetch",
        "ratio",
        "peak RSS",
        "rows/cycle",
        "bytes/cycle",
    ):
        table.add_column(column, justify="right")
    for key, r in results.items():
        if not isinstance(r, dict) or "fetch_s" not in r:  # the other benchmarks have their own tables
            continue
        table.add_row(
            key,
            f"{r['fetch_s']:.3f} s",
            f"{r['auditor_s']:.3f} s (max {r['auditor_s_max']:.3f})",
            f"{r['auditor_s'] / r['fetch_s']:.1f}x" if r["fetch_s"] else "-",
            f"{r['peak_rss_mib']:.0f} MiB",
            f"{r['rows_per_cycle']:,.0f}" if "rows_per_cycle" in r else "-",
            f"{r['bytes_per_cycle'] / 1024:,.0f} KiB" if "bytes_per_cycle" in r else "-",
        )
    console = Console(width=160)
    console.print(table)
    console.print("targets (docs/benchmarks.md): auditor beyond fetch < 0.5 s, peak RSS < 150 MiB")


def report_real_census(r: dict[str, Any]) -> None:
    title = (
        f"census cost on a real Prometheus 3.5 holding {r['names']:,} metric names and {r['series']:,} series "
        f"(medians of {real_census.RUNS})"
    )
    table = Table(title=title)
    for column in ("way", "Prometheus CPU", "wall", "requests", "whole cycle: auditor beyond fetch", "cycle requests"):
        table.add_column(column, justify="right")
    naive = r["naive"]
    table.add_row('naive count by (__name__) ({__name__=~".+"})', f"{naive['prometheus_cpu_s']:.2f} s",
                  f"{naive['wall_s']:.2f} s", str(naive["requests"]), "-", "-")  # fmt: skip
    for key, row in r.items():
        if key.startswith("limit="):
            table.add_row(
                f"census, TSDB status {key}", f"{row['prometheus_cpu_s']:.2f} s", f"{row['wall_s']:.2f} s",
                str(row["requests"]), f"{row['auditor_beyond_fetch_s']:.3f} s", str(row["cycle_requests"]),
            )  # fmt: skip
    for name, row in r.get("label_policy", {}).items():
        table.add_row(
            f"label-policy scan, {escape(name)}", f"{row['prometheus_cpu_s']:.2f} s", f"{row['wall_s']:.2f} s",
            str(row["requests"]), "-", "-",
        )  # fmt: skip
    for name, row in r.get("drilldown_of_10_offenders", {}).items():
        table.add_row(
            f"drill-down of 10 offenders, {name}", f"{row['prometheus_cpu_s']:.2f} s", f"{row['wall_s']:.2f} s",
            str(row["requests"]), "-", "-",
        )  # fmt: skip
    Console(width=160).print(table)
    Console(width=160).print("target (issue 12): the census costs Prometheus less than the naive query")


def report_jobs(r: dict[str, Any]) -> None:
    title = (
        f"job census: {r['jobs']} jobs, {r['targets']:,} targets, 10,000 metrics (median of {jobs_bench.RUNS} cycles)"
    )
    table = Table(title=title)
    for column in ("job census", "cycle", "requests", "self-metrics", "job series", "per-target series"):
        table.add_column(column, justify="right")
    for key in ("off", "on"):
        row = r[key]
        table.add_row(key, f"{row['cycle_s']:.3f} s", str(row["requests"]), f"{row['exposition_bytes']:,} B",
                      str(row["job_series"]), str(row["per_target_series"]))  # fmt: skip
    Console(width=160).print(table)
    h = r["history"]
    Console(width=160).print(
        f"job history, {h['cycles']} one-minute cycles of {r['jobs']} jobs (a tenth changing each): "
        f"{h['rows_stored']:,} job and target rows stored of {h['rows_whole']:,} whole "
        f"({h['rows_stored'] / h['rows_whole']:.0%}), write {h['write_ms']:.1f} ms a cycle, compaction of "
        f"the hours {h['compact_s']:.2f} s, a cycle's history reads {h['read_ms']:.0f} ms "
        f"({h['trend_points']:,} hourly points; {h['raw_read_ms']:.0f} ms from raw cycles before compaction)"
    )


def report_report(r: dict[str, Any]) -> None:
    rows = r["rows"]
    console = Console(width=160)
    title = (
        f"{r['days']} days of 5-minute history of 10,000 metrics, tiered (raw 1 day, hourly 14 days, daily 90 days): "
        f"{rows['metric_series']:,} raw rows, {rows['metric_rollups']:,} rollups, {rows['snapshots']:,} cycles"
    )
    table = Table(title=title)
    for column in ("figure", "measured", "target"):
        table.add_column(column, justify="right")
    table.add_row("PostgreSQL database size", f"{r['database_bytes'] / 2**30:.2f} GiB", "under 1 GiB")
    table.add_row("weekly report, gather + build", f"{r['gather+build']:.3f} s", "")
    table.add_row("weekly report, render html / markdown / json",
                  f"{r['html']:.3f} / {r['markdown']:.3f} / {r['json']:.3f} s", "")  # fmt: skip
    table.add_row("weekly report, total (html)", f"{r['total_html']:.3f} s", "under 3 s")
    table.add_row("growth check, first cycle of an hour (cold)", f"{r['first_cycle_of_hour_s']:.3f} s", "")
    table.add_row("growth check, other cycles", f"{r['later_cycle_s']:.3f} s", "")
    console.print(table)


def report_sources(r: dict[str, Any]) -> None:
    table = Table(title=f"{r['sources']} sources writing 10,000-metric cycles into one PostgreSQL at once")
    for column in ("figure", "alone", f"{r['sources']} at once", "ratio"):
        table.add_column(column)
    alone, together = r["alone"], r["together"]
    table.add_row(
        "write, median", f"{alone['median_s']:.3f} s", f"{together['median_s']:.3f} s", f"{r['median_ratio']:.1f}x"
    )
    table.add_row("write, p95 / max", f"{alone['p95_s']:.3f} / {alone['max_s']:.3f} s",
                  f"{together['p95_s']:.3f} / {together['max_s']:.3f} s", "")  # fmt: skip
    table.add_row("cycles stored per second", f"{alone['cycles_per_s']:.1f}", f"{together['cycles_per_s']:.1f}",
                  f"{r['throughput_ratio']:.2f}x")  # fmt: skip
    table.add_row("cycles stored / expected", "", f"{r['cycles_stored']} / {r['cycles_expected']}", "")
    Console().print(table)


def report_rules(r: dict[str, Any]) -> None:
    table = Table(title=f"rules diff of two {r['rules']:,}-rule sets ({r['changed']} changed), median of 5")
    for column in ("load, normalise, diff, render (in process)", "whole command (python startup included)"):
        table.add_column(column, justify="right")
    table.add_row(f"{r['in_process_s']:.3f} s", f"{r['command_s']:.3f} s")
    Console(width=160).print(table)
    Console(width=160).print("target (docs/benchmarks.md): rules diff of two 2,000-rule sets under 2 s")


def report_exposition(results: dict[str, Any]) -> None:
    table = Table(title=f"auditor /metrics for a {METRICS:,}-metric census (export.top_n=20, export.max_metrics=500)")
    for column in ("budgets", "findings", "exposed series", "bytes", "evaluate", "scrape"):
        table.add_column(column, justify="right")
    for name, r in results.items():
        table.add_row(
            name, f"{r['findings']:,}", f"{r['series']:,}", f"{r['bytes'] / 1024:,.0f} KiB",
            f"{r['evaluate_s']:.3f} s", f"{r['scrape_s']:.3f} s",
        )  # fmt: skip
    Console(width=160).print(table)


if __name__ == "__main__":
    sys.exit(main())

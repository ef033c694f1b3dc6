"""CLI output: human tables (rich) and the JSON shapes of DESIGN 3.1."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from auditor.domain import Census, HistoryPoint


def census_json(census: Census) -> dict[str, Any]:
    """``audit --format json``: every metric, by series descending."""
    return {
        "source": census.source,
        "collected_at": census.collected_at.isoformat(),
        "head_series": census.head.num_series,
        "metrics": [{"name": name, "series": series} for name, series in census.ranked()],
        "metric_count": len(census.metrics),
        "method": census.method.value,
        "notion": census.notion.value,
        "prometheus_version": census.prometheus_version,
        "tsdb_truncated": census.tsdb_truncated,
        "stale_names": census.stale_names,
    }


def history_json(metric: str, source: str, points: Sequence[HistoryPoint]) -> dict[str, Any]:
    return {
        "metric": metric,
        "source": source,
        "points": [{"collected_at": p.collected_at.isoformat(), "series": p.series} for p in points],
    }


def print_json(document: dict[str, Any], out: TextIO) -> None:
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")


def print_census(census: Census, out: TextIO, top: int) -> None:
    console = Console(file=out, highlight=False)
    ranked = census.ranked()
    total = sum(census.metrics.values())
    console.print(_census_title(census))
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("metric", overflow="fold")
    table.add_column("series", justify="right")
    table.add_column("share", justify="right")
    for rank, (name, series) in enumerate(ranked[:top], start=1):
        table.add_row(str(rank), name, f"{series:,}", f"{series / total:.1%}" if total else "-")
    console.print(table)
    if len(ranked) > top:
        console.print(f"... and {len(ranked) - top:,} more metrics (--top N, or --format json for all)")


def _census_title(census: Census) -> str:
    stale = f", {census.stale_names:,} stale names" if census.stale_names else ""
    return (
        f"{census.source} at {census.collected_at:%Y-%m-%d %H:%M:%S}Z: {census.head.num_series:,} head series, "
        f"{len(census.metrics):,} metrics ({census.method.value}, {census.notion.value} series{stale}, "
        f"Prometheus {census.prometheus_version})"
    )


def print_history(metric: str, source: str, points: Sequence[HistoryPoint], out: TextIO) -> None:
    console = Console(file=out, highlight=False)
    console.print(f"{metric} on {source}")
    table = Table()
    table.add_column("collected at (UTC)")
    table.add_column("series", justify="right")
    table.add_column("change", justify="right")
    previous: int | None = None
    for point in points:
        change = "" if previous is None else f"{point.series - previous:+,}"
        table.add_row(f"{point.collected_at:%Y-%m-%d %H:%M:%S}", f"{point.series:,}", change)
        previous = point.series
    console.print(table)
    if points:
        first, last = points[0].series, points[-1].series
        low, high = min(p.series for p in points), max(p.series for p in points)
        console.print(
            f"{len(points)} points; first {first:,}, last {last:,} ({last - first:+,}); min {low:,}, max {high:,}"
        )

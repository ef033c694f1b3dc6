"""The fleet report: one row per source, from each source's weekly report, for a meeting about many Prometheus.

fleet = build_fleet({"eu1": report_eu1, "us1": report_us1}, "2026-W47")
fleet.to_json()["sources"][0]["series_end"]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.evaluate.report import SCHEMA_VERSION, Report, jsonable

COLUMNS = (
    "source", "series_start", "series_end", "series_change_ratio", "vs_baseline_ratio", "metrics_end",
    "new_metrics", "removed_metrics", "open_violations", "owners_with_violations", "top_grower",
    "top_grower_change", "complete",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Fleet:
    label: str
    sources: list[dict[str, Any]]
    """One row per source (``COLUMNS``), largest first."""
    totals: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        document = {"period": self.label, "sources": self.sources, "totals": self.totals}
        return {"schema_version": SCHEMA_VERSION, **jsonable(document)}


def build_fleet(reports: dict[str, Report], label: str) -> Fleet:
    rows = sorted((_row(source, report) for source, report in reports.items()), key=lambda r: -(r["series_end"] or 0))
    return Fleet(label, rows, _totals(rows))


def _row(source: str, report: Report) -> dict[str, Any]:
    summary, growth = report.summary, report.growth
    return {
        "source": source,
        **{key: getattr(summary, key) for key in COLUMNS[1:10]},
        "top_grower": growth[0].metric if growth else None,
        "top_grower_change": growth[0].change if growth else None,
        "complete": report.data_completeness.complete,
    }


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> int | None:
        values = [row[key] for row in rows if row[key] is not None]
        return sum(values) if values else None

    start, end = total("series_start"), total("series_end")
    return {
        "sources": len(rows),
        "series_start": start,
        "series_end": end,
        "series_change_ratio": end / start - 1 if start and end is not None else None,
        "open_violations": total("open_violations"),
        "incomplete_sources": sum(1 for row in rows if row["complete"] is False),
    }

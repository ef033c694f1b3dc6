"""The fleet report: one row per source, from each source's weekly report, for a meeting about many Prometheus.

fleet = build_fleet({"eu1": report_eu1, "us1": report_us1}, "2026-W47")
fleet.sources[0].series_end
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.evaluate.report import SCHEMA_VERSION, JsonValue, Report, json_object

COLUMNS = (
    "source", "series_start", "series_end", "series_change_ratio", "vs_baseline_ratio", "metrics_end",
    "new_metrics", "removed_metrics", "open_violations", "owners_with_violations", "top_grower",
    "top_grower_change", "complete",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One source in the fleet report (``COLUMNS``)."""

    source: str
    series_start: int | None
    series_end: int | None
    series_change_ratio: float | None
    vs_baseline_ratio: float | None
    metrics_end: int
    new_metrics: int
    removed_metrics: int
    open_violations: int
    owners_with_violations: int
    top_grower: str | None
    top_grower_change: int | None
    complete: bool


@dataclass(frozen=True, slots=True)
class FleetTotals:
    sources: int
    series_start: int | None
    series_end: int | None
    series_change_ratio: float | None
    open_violations: int | None
    incomplete_sources: int


@dataclass(frozen=True, slots=True)
class Fleet:
    label: str
    sources: list[FleetRow]
    """One row per source, largest first."""
    totals: FleetTotals

    def to_json(self) -> dict[str, JsonValue]:
        document = {"period": self.label, "sources": self.sources, "totals": self.totals}
        return {"schema_version": SCHEMA_VERSION, **json_object(document)}


def build_fleet(reports: dict[str, Report], label: str) -> Fleet:
    rows = sorted((_row(source, report) for source, report in reports.items()), key=lambda r: -(r.series_end or 0))
    return Fleet(label, rows, _totals(rows))


def _row(source: str, report: Report) -> FleetRow:
    summary, growth = report.summary, report.growth
    return FleetRow(
        source=source, series_start=summary.series_start, series_end=summary.series_end,
        series_change_ratio=summary.series_change_ratio, vs_baseline_ratio=summary.vs_baseline_ratio,
        metrics_end=summary.metrics_end, new_metrics=summary.new_metrics, removed_metrics=summary.removed_metrics,
        open_violations=summary.open_violations, owners_with_violations=summary.owners_with_violations,
        top_grower=growth[0].metric if growth else None, top_grower_change=growth[0].change if growth else None,
        complete=report.data_completeness.complete,
    )  # fmt: skip


def _totals(rows: list[FleetRow]) -> FleetTotals:
    def total(values: list[int | None]) -> int | None:
        known = [value for value in values if value is not None]
        return sum(known) if known else None

    start, end = total([r.series_start for r in rows]), total([r.series_end for r in rows])
    return FleetTotals(
        sources=len(rows),
        series_start=start,
        series_end=end,
        series_change_ratio=end / start - 1 if start and end is not None else None,
        open_violations=total([r.open_violations for r in rows]),
        incomplete_sources=sum(1 for row in rows if row.complete is False),
    )

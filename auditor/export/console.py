"""CLI output: human tables (rich) and the JSON shapes of docs/cli.md."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from rich.table import Table

from auditor.core.domain import Census, HistoryPoint, LabelStats, ServerKind
from auditor.core.durations import format_duration
from auditor.core.findings import Finding, MetricFinding, Severity
from auditor.core.remedies import Remedy
from auditor.evaluate import Evaluation
from auditor.evaluate.remedies import Readers, remedy_of
from auditor.export.remedy_output import print_remedy, remedy_json, suggestion_json
from auditor.export.terminal import console


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
        "head_metrics": len(census.head_metrics),
        "server": census.server.value,
        "prometheus_version": census.prometheus_version,
        "tsdb_truncated": census.tsdb_truncated,
        "stale_names": census.stale_names,
    }


def history_json(metric: str, source: str, points: Sequence[HistoryPoint]) -> dict[str, Any]:
    return {
        "metric": metric,
        "source": source,
        "points": [
            {"collected_at": p.collected_at.isoformat(), "series": p.series, "resolution": p.resolution} for p in points
        ],
    }


def print_census(census: Census, out: TextIO, top: int) -> None:
    term = console(out)
    ranked = census.ranked()
    total = sum(census.metrics.values())
    term.print(_census_title(census))
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("metric", overflow="fold")
    table.add_column("series", justify="right")
    table.add_column("share", justify="right")
    for rank, (name, series) in enumerate(ranked[:top], start=1):
        table.add_row(str(rank), name, f"{series:,}", f"{series / total:.1%}" if total else "-")
    term.print(table)
    if len(ranked) > top:
        term.print(f"... and {len(ranked) - top:,} more metrics (--top N, or --format json for all)")


def _census_title(census: Census) -> str:
    stale = f", {census.stale_names:,} stale names" if census.stale_names else ""
    return (
        f"{census.source} at {census.collected_at:%Y-%m-%d %H:%M:%S}Z: {census.head.num_series:,} head series, "
        f"{len(census.metrics):,} metrics ({census.method.value}, {census.notion.value} series{stale}, "
        f"Prometheus {census.prometheus_version})"
    )


def print_history(metric: str, source: str, points: Sequence[HistoryPoint], out: TextIO) -> None:
    term = console(out)
    term.print(f"{metric} on {source}")
    table = Table()
    table.add_column("collected at (UTC)")
    table.add_column("series", justify="right")
    table.add_column("change", justify="right")
    previous: int | None = None
    for point in points:
        change = "" if previous is None else f"{point.series - previous:+,}"
        table.add_row(f"{point.collected_at:%Y-%m-%d %H:%M:%S}", f"{point.series:,}", change)
        previous = point.series
    term.print(table)
    if points:
        first, last = points[0].series, points[-1].series
        low, high = min(p.series for p in points), max(p.series for p in points)
        term.print(
            f"{len(points)} points; first {first:,}, last {last:,} ({last - first:+,}); min {low:,}, max {high:,}"
        )


@dataclass(frozen=True)
class CheckReport:
    """``metrics-auditor check``: the verdict on one stored census."""

    census: Census
    evaluation: Evaluation
    labels: dict[str, dict[str, LabelStats]]
    since: dict[tuple[str, str, str, str, str], datetime]
    """Finding key -> first seen, for the findings the store holds open."""
    sent_by: dict[str, dict[str, int]] = field(default_factory=dict)
    """metric -> job -> series, for the metrics over budget (the job census' attribution)."""
    readers: dict[str, Readers] = field(default_factory=dict)
    """metric -> who reads it and its labels, for the metrics over budget."""

    def remedy(self, finding: MetricFinding) -> Remedy:
        victoria = self.census.server is ServerKind.VICTORIAMETRICS
        return remedy_of(finding, self.labels, self.readers, victoria=victoria)

    def jobs_of(self, finding: Finding) -> list[dict[str, Any]]:
        by_job = self.sent_by.get(finding.metric, {}) if isinstance(finding, MetricFinding) else {}
        return [{"job": job, "series": n} for job, n in sorted(by_job.items(), key=lambda kv: (-kv[1], kv[0]))]

    def first_seen(self, finding: Finding) -> datetime:
        return self.since.get(finding.identity, self.census.collected_at)


def finding_json(finding: Finding, report: CheckReport) -> dict[str, Any]:
    document: dict[str, Any] = {
        "metric": finding.subject,
        "owner": finding.owner,
        "kind": finding.kind.value,
        "series": finding.series,
        "max_series": finding.max_series,
        "severity": finding.severity.value,
        "value": finding.value,
        "limit": finding.limit,
        "since": report.first_seen(finding).isoformat(),
    }
    if finding.detail:
        document["label"] = finding.detail
    if finding.window:
        document["window"] = format_duration(finding.window)
    if finding.severity is Severity.EXCEEDED and isinstance(finding, MetricFinding):
        remedy = report.remedy(finding)
        document["fix"] = remedy_json(remedy)
        document["suggestion"] = suggestion_json(remedy)
    if jobs := report.jobs_of(finding):
        document["jobs"] = jobs
    return document


def check_json(report: CheckReport) -> dict[str, Any]:
    return {
        "source": report.census.source,
        "collected_at": report.census.collected_at.isoformat(),
        "violations": [finding_json(f, report) for f in report.evaluation.violations],
        "warnings": [finding_json(f, report) for f in report.evaluation.warnings],
    }


def print_check(report: CheckReport, out: TextIO) -> None:
    term = console(out)
    census, evaluation = report.census, report.evaluation
    term.print(
        f"{census.source} at {census.collected_at:%Y-%m-%d %H:%M:%S}Z: {len(evaluation.violations)} violations, "
        f"{len(evaluation.warnings)} warnings over {len(census.metrics):,} metrics"
    )
    if not evaluation.findings:
        return
    table = Table()
    for column in ("severity", "metric", "owner", "kind", "finding", "since"):
        table.add_column(column, overflow="fold")
    for finding in sorted(evaluation.findings, key=lambda f: (f.severity is not Severity.EXCEEDED, f.owner, f.subject)):
        since = report.first_seen(finding)
        table.add_row(
            finding.severity.value, finding.subject, finding.owner, finding.kind.value, finding.describe(),
            f"{since:%Y-%m-%d %H:%M} ({_age(census.collected_at - since)})",
        )  # fmt: skip
    term.print(table)
    printed: set[tuple[str, str, str | None]] = set()
    for finding in (f for f in evaluation.violations if isinstance(f, MetricFinding)):
        remedy = report.remedy(finding)
        if (remedy.metric, remedy.action.value, remedy.label) in printed:
            continue  # one print per remedy, whatever the number of violations it answers
        printed.add((remedy.metric, remedy.action.value, remedy.label))
        jobs = report.jobs_of(finding)
        print_remedy(term, remedy, finding.owner, [(j["job"], j["series"]) for j in jobs])


def _age(delta: timedelta) -> str:
    days = delta.days
    if days >= 14:
        return f"{days // 7} weeks"
    if days >= 1:
        return f"{days} days"
    return f"{int(delta.total_seconds() // 3600)} h"

"""``metrics-auditor usage``: per metric, series now, reads by kind, last read, readers; or one metric by day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from auditor.core.durations import span
from auditor.core.usage import MetricReads
from auditor.evaluate.label_usage import LabelVerdict
from auditor.evaluate.remedies import drop_metrics_relabel
from auditor.evaluate.usage import Status, Verdict
from auditor.export.remedy_output import reader_json
from auditor.export.terminal import console

NO_LOG = (
    "usage from queries is unknown: no query log is read. Set `query_log_file: /prometheus/query.log` in "
    "Prometheus' global configuration, share that volume with the auditor and set AUDITOR_QUERY_LOG_FILE "
    "(docs/usage.md)"
)


@dataclass(frozen=True)
class UsageView:
    source: str
    collected_at: datetime
    window: timedelta
    coverage: timedelta | None
    """How much of the window the query log covers; None without a query log."""
    verdicts: list[Verdict]
    days: dict[date, MetricReads] | None = None
    """One metric's reads per day (``usage METRIC``)."""
    labels: dict[str, list[LabelVerdict]] = field(default_factory=dict)
    """metric -> who reads each of its labels (its known labels, and any a reader names)."""

    @property
    def known(self) -> bool:
        return self.coverage is not None and self.coverage >= self.window

    def coverage_text(self) -> str:
        if self.coverage is None:
            return NO_LOG
        verdict = "unused metrics are named" if self.known else "too short to call a metric unused yet"
        covered, window = span(self.coverage.total_seconds()), span(self.window.total_seconds())
        return f"the query log covers {covered} of the last {window}: {verdict}"


def usage_json(view: UsageView) -> dict[str, Any]:
    """docs/cli.md: ``{"days_covered", "metrics": [{"name", "series", "api_queries", "rule_queries",
    "last_queried", "readers", "unused"}]}``, with the source, the window and each metric's owner and status."""
    document: dict[str, Any] = {
        "source": view.source,
        "collected_at": view.collected_at.isoformat(),
        "days_covered": None if view.coverage is None else view.coverage / timedelta(days=1),
        "window_days": view.window / timedelta(days=1),
        "metrics": [_row(v, view.labels.get(v.metric, [])) for v in view.verdicts],
    }
    if view.days is not None:
        document["days"] = [
            {"day": day.isoformat(), "api_queries": r.api, "rule_queries": r.rule}
            for day, r in sorted(view.days.items())
        ]
    return document


def _row(v: Verdict, labels: list[LabelVerdict]) -> dict[str, Any]:
    return {
        "name": v.metric, "owner": v.owner, "series": v.series, "api_queries": v.reads.api,
        "rule_queries": v.reads.rule, "last_queried": v.last_read.isoformat() if v.last_read else None,
        "readers": list(v.readers), "unused": v.status is Status.UNUSED, "status": v.status.value,
        "labels": [_label(label) for label in labels],
    }  # fmt: skip


def _label(v: LabelVerdict) -> dict[str, Any]:
    return {"name": v.name, "readers": [reader_json(r) for r in v.readers], "reads": v.reads,
            "last_read": v.last_read.isoformat() if v.last_read else None, "used": v.used}  # fmt: skip


def print_usage(view: UsageView, out: TextIO, *, unused_only: bool) -> None:
    term = console(out)
    term.print(f"{escape(view.source)} at {view.collected_at:%Y-%m-%d %H:%M:%S}Z: {escape(view.coverage_text())}")
    if not view.verdicts:
        term.print(
            "no metric is unused" if view.known else "no metric is called unused until the log covers the window"
        )
        return
    table = Table()
    for column, justify in (("metric", "left"), ("owner", "left"), ("series", "right"), ("status", "left"),
                            ("api queries", "right"), ("rule evals", "right"), ("last read", "left"),
                            ("readers", "left")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for v in view.verdicts:
        table.add_row(
            escape(v.metric), escape(v.owner), f"{v.series:,}", v.status.value, f"{v.reads.api:,}",
            f"{v.reads.rule:,}", f"{v.last_read:%Y-%m-%d %H:%M}" if v.last_read else "never seen",
            escape("; ".join(v.readers[:3])) or "-",
        )  # fmt: skip
    term.print(table)
    if view.days is not None:
        for day, r in sorted(view.days.items()):
            term.print(f"{day}: {r.api:,} API queries, {r.rule:,} rule evaluations")
        for metric, labels in view.labels.items():
            _print_labels(term, metric, labels)
    unused = [v for v in view.verdicts if v.status is Status.UNUSED]
    if unused_only and unused:
        saved = sum(v.series for v in unused)
        term.print(f"{len(unused):,} unused metrics, {saved:,} series. To drop them at the scrape:")
        out.write(drop_metrics_relabel([v.metric for v in unused]))  # as is: a wrapped line would not paste


def _print_labels(term: Console, metric: str, labels: list[LabelVerdict]) -> None:
    if not labels:
        return
    table = Table(title=f"labels of {escape(metric)}")
    for column in ("label", "read", "reads", "last read", "readers"):
        table.add_column(column, overflow="fold")
    for v in labels:
        table.add_row(
            escape(v.name), "yes" if v.used else "no", f"{v.reads:,}",
            f"{v.last_read:%Y-%m-%d %H:%M}" if v.last_read else "-",
            escape("; ".join(str(r) for r in v.readers[:3])) or "-",
        )  # fmt: skip
    term.print(table)

"""The report's usage parts: the unused metrics as drop candidates, what the query log covers, the owner scorecard.

With a query log that covers the window, "unused" means no API query, no rule and no dashboard read the
metric; without one it falls back to "no loaded rule and no dashboard reads it" and says queries are
unknown, with the setting that would tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from auditor.core.budgets import Budgets
from auditor.core.durations import in_words
from auditor.evaluate.report_sections import Violation
from auditor.evaluate.suggestions import drop_metrics_relabel
from auditor.evaluate.usage import Status, Verdict

UNUSED_MIN_SERIES = 100
SETTING = "query_log_file: /prometheus/query.log"


@dataclass(frozen=True)
class UsageEvidence:
    """What the report knows about reads: the verdicts, and how much of the window the log covers."""

    verdicts: list[Verdict]
    coverage: timedelta | None
    """None without a query log."""
    window: timedelta

    @property
    def known(self) -> bool:
        return self.coverage is not None and self.coverage >= self.window


def usage_note(evidence: UsageEvidence | None) -> dict[str, Any]:
    days = None if evidence is None or evidence.coverage is None else round(evidence.coverage / timedelta(days=1), 1)
    window = None if evidence is None else evidence.window / timedelta(days=1)
    if evidence is None or evidence.coverage is None:
        note = (
            f"Usage from queries is unknown: no query log is read. Set `{SETTING}` in Prometheus' global "
            "configuration, share the volume with the auditor and set AUDITOR_QUERY_LOG_FILE (docs/usage.md)."
        )
    elif not evidence.known:
        covered, whole = in_words(evidence.coverage.total_seconds()), in_words(evidence.window.total_seconds())
        note = f"The query log covers {covered} of {whole}: too short to call a metric unused yet."
    else:
        whole = in_words(evidence.window.total_seconds())
        note = f"The query log covers the last {whole}: a metric no query, rule or dashboard read is unused."
    return {"query_log": evidence is not None and evidence.coverage is not None, "days_covered": days,
            "window_days": window, "known": evidence is not None and evidence.known, "note": note}  # fmt: skip


def unused_metrics(
    evidence: UsageEvidence | None, end: dict[str, int], owners: dict[str, str], read_elsewhere: set[str]
) -> list[dict[str, Any]]:
    """Drop candidates, most series first: measured when the log covers the window, else the rules-and-dashboards
    guess (``read_elsewhere``: what loaded rules and dashboards read)."""
    if evidence is not None and evidence.known:
        rows = [
            {"metric": v.metric, "owner": owners[v.metric], "series": end[v.metric], "series_saved": end[v.metric],
             "last_queried": v.last_read, "evidence": _measured(v, evidence.window),
             "relabel": drop_metrics_relabel([v.metric])}
            for v in evidence.verdicts if v.status is Status.UNUSED and v.metric in end and v.metric in owners
        ]  # fmt: skip
    else:
        rows = [
            {"metric": m, "owner": owners[m], "series": n, "series_saved": n, "last_queried": None,
             "evidence": "no loaded rule and no dashboard reads it; queries unknown",
             "relabel": drop_metrics_relabel([m])}
            for m, n in end.items() if n >= UNUSED_MIN_SERIES and m not in read_elsewhere
        ]  # fmt: skip
    return sorted(rows, key=lambda r: (-r["series"], r["metric"]))


def _measured(v: Verdict, window: timedelta) -> str:
    days = in_words(window.total_seconds())
    if v.last_read is None:
        return f"no query, rule or dashboard read it in the {days} the query log covers"
    return f"no query, rule or dashboard read it in {days}; last queried {v.last_read:%Y-%m-%d}"


def owner_scorecard(
    budgets: Budgets, counts: tuple[dict[str, int], dict[str, int]], violations: list[Violation],
    unused: list[dict[str, Any]], cost_per_series_month: float | None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Per owner: series owned (start, end, change), budget usage, open violations, series in unused metrics, cost."""
    start, end = counts
    rows: dict[str, dict[str, Any]] = {}
    for metric in start.keys() | end.keys():
        budget = budgets.for_metric(metric)
        row = rows.setdefault(budget.owner, {"owner": budget.owner, "series_start": 0, "series_end": 0,
                                             "budgeted": 0, "open_violations": 0, "unused_series": 0})  # fmt: skip
        row["series_start"] += start.get(metric, 0)
        row["series_end"] += end.get(metric, 0)
        row["budgeted"] += budget.max_series if metric in end else 0
    for v in violations:
        if v.resolved_at is None and v.owner in rows:
            rows[v.owner]["open_violations"] += 1
    for u in unused:
        if u["owner"] in rows:
            rows[u["owner"]]["unused_series"] += u["series"]
    out = []
    price = cost_per_series_month
    for row in rows.values():
        budgeted = row.pop("budgeted")
        out.append(row | {
            "change": row["series_end"] - row["series_start"],
            "budget_usage": row["series_end"] / budgeted if budgeted else None,
            "cost_month": None if price is None else row["series_end"] * price,
            "unused_cost_month": None if price is None else row["unused_series"] * price,
        })  # fmt: skip
    return sorted(out, key=lambda r: (-r["series_end"], r["owner"]))

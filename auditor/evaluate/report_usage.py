"""The report's usage parts: the unused metrics as drop candidates, what the query log covers, the owner scorecard.

With a query log that covers the window, "unused" means no API query, no rule and no dashboard read the
metric; without one it falls back to "no loaded rule and no dashboard reads it" and says queries are
unknown, with the setting that would tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from auditor.core.budgets import Budgets
from auditor.core.durations import in_words
from auditor.evaluate.remedies import drop_metrics_relabel
from auditor.evaluate.report_sections import OwnerScore, UnusedMetric, UsageNote, Violation
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


def usage_note(evidence: UsageEvidence | None) -> UsageNote:
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
    return UsageNote(
        query_log=evidence is not None and evidence.coverage is not None,
        days_covered=days,
        window_days=window,
        known=evidence is not None and evidence.known,
        note=note,
    )


def unused_metrics(
    evidence: UsageEvidence | None, end: dict[str, int], owners: dict[str, str], read_elsewhere: set[str]
) -> list[UnusedMetric]:
    """Drop candidates, most series first: measured when the log covers the window, else the rules-and-dashboards
    guess (``read_elsewhere``: what loaded rules and dashboards read)."""
    if evidence is not None and evidence.known:
        rows = [
            UnusedMetric(v.metric, owners[v.metric], end[v.metric], end[v.metric], v.last_read,
                         _measured(v, evidence.window), drop_metrics_relabel([v.metric]))
            for v in evidence.verdicts if v.status is Status.UNUSED and v.metric in end and v.metric in owners
        ]  # fmt: skip
    else:
        rows = [
            UnusedMetric(m, owners[m], n, n, None, "no loaded rule and no dashboard reads it; queries unknown",
                         drop_metrics_relabel([m]))
            for m, n in end.items() if n >= UNUSED_MIN_SERIES and m not in read_elsewhere
        ]  # fmt: skip
    return sorted(rows, key=lambda r: (-r.series, r.metric))


def _measured(v: Verdict, window: timedelta) -> str:
    days = in_words(window.total_seconds())
    if v.last_read is None:
        return f"no query, rule or dashboard read it in the {days} the query log covers"
    return f"no query, rule or dashboard read it in {days}; last queried {v.last_read:%Y-%m-%d}"


def owner_scorecard(
    budgets: Budgets, counts: tuple[dict[str, int], dict[str, int]], violations: list[Violation],
    unused: list[UnusedMetric], cost_per_series_month: float | None,
) -> list[OwnerScore]:  # fmt: skip
    """Per owner: series owned (start, end, change), budget usage, open violations, series in unused metrics, cost."""
    start, end = counts
    rows: dict[str, dict[str, int]] = {}
    for metric in start.keys() | end.keys():
        budget = budgets.for_metric(metric)
        row = rows.setdefault(
            budget.owner, {"series_start": 0, "series_end": 0, "budgeted": 0, "open_violations": 0, "unused_series": 0}
        )
        row["series_start"] += start.get(metric, 0)
        row["series_end"] += end.get(metric, 0)
        row["budgeted"] += budget.max_series if metric in end else 0
    for v in violations:
        if v.resolved_at is None and v.owner in rows:
            rows[v.owner]["open_violations"] += 1
    for u in unused:
        if u.owner in rows:
            rows[u.owner]["unused_series"] += u.series
    price = cost_per_series_month
    out = [_score(owner, row, price) for owner, row in rows.items()]
    return sorted(out, key=lambda r: (-r.series_end, r.owner))


def _score(owner: str, row: dict[str, int], price: float | None) -> OwnerScore:
    budgeted, end, unused = row["budgeted"], row["series_end"], row["unused_series"]
    return OwnerScore(
        owner=owner,
        series_start=row["series_start"],
        series_end=end,
        open_violations=row["open_violations"],
        unused_series=unused,
        change=end - row["series_start"],
        budget_usage=end / budgeted if budgeted else None,
        cost_month=None if price is None else end * price,
        unused_cost_month=None if price is None else unused * price,
    )

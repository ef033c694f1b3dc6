"""The report's forward view: the next 30 days' forecast, the quarter before, and whether fixes held.

Pure: everything comes from the stored history (``ForwardInput``), never from Prometheus.

- **Forecast**: the daemon's robust trend (Theil-Sen over hourly maxima, ``forecast.fit``) per budgeted
  metric as of the period's end; those that reach their budget within ``HORIZON`` are listed with the
  date, the projection and how far the pairwise slopes agree. Metrics with too little or too flat a
  history get no date, and are counted as such.
- **Quarter**: the period against the same period 13 weeks earlier.
- **Regressions**: violations resolved within the quarter that were opened again, and how long
  violations stay open per owner.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime, timedelta

from auditor.core.budgets import Budgets
from auditor.core.domain import Census, SnapshotRow
from auditor.core.findings import FindingRow
from auditor.evaluate.checks.forecast import fit
from auditor.evaluate.report_outlook import (
    Forecast,
    JobAtLimit,
    JobForecast,
    MetricForecast,
    NotForecast,
    OpenedResolved,
    OwnerWeeks,
    PeriodTotals,
    Projection,
    Quarter,
    QuarterGrower,
    QuarterViolations,
    Regression,
    TotalForecast,
)

HORIZON = timedelta(days=30)
QUARTER = timedelta(weeks=13)
TOP_GROWERS = 10
Points = list[tuple[float, float]]


@dataclass(frozen=True)
class ForwardInput:
    end: datetime
    budgets: Budgets
    series: dict[str, int]
    """metric -> series at the period's end (the owner's metrics only, in an owner's report)."""
    trends: dict[str, Points] = field(default_factory=dict)
    """metric -> hourly maxima over the forecast window before the period's end, for the budgeted metrics."""
    head: Points = field(default_factory=list)
    """Hourly maxima of the server's head series over the same window."""
    jobs: dict[str, int] = field(default_factory=dict)
    """Scrape job -> series at the period's end (the last job census)."""
    job_trends: dict[str, Points] = field(default_factory=dict)
    """Scrape job with a ``jobs:`` budget -> hourly maxima of its series over the window."""


def forecast(inp: ForwardInput, job_limit_seconds: dict[str, float]) -> Forecast:
    """``job_limit_seconds``: job -> forecast time to its ``sample_limit`` (the jobs' own forecast)."""
    rows, little, flat = [], 0, 0
    for metric, points in inp.trends.items():
        budget = inp.budgets.for_metric(metric)
        found = _projection(inp.end, inp.series.get(metric), budget.max_series, points)
        little, flat = little + (found == _LITTLE), flat + (found == _FLAT)
        if isinstance(found, Projection):
            rows.append(MetricForecast(metric, budget.owner, *astuple(found)))
    jobs = []
    for job, points in inp.job_trends.items():
        job_budget = inp.budgets.for_job(job)
        found = _projection(inp.end, inp.jobs.get(job), job_budget.max_series, points) if job_budget else None
        if job_budget and isinstance(found, Projection):
            jobs.append(JobForecast(job, job_budget.owner, *astuple(found)))
    at_limit = [
        JobAtLimit(job, inp.end + timedelta(seconds=s), round(s / 86400, 1))
        for job, s in sorted(job_limit_seconds.items(), key=lambda kv: kv[1]) if s <= HORIZON.total_seconds()
    ]  # fmt: skip
    return Forecast(
        horizon_days=HORIZON.days, metrics=sorted(rows, key=lambda r: (r.date, r.metric)),
        jobs=sorted(jobs, key=lambda r: (r.date, r.job)), jobs_at_sample_limit=at_limit,
        total_series=_total(inp.head), not_forecast=NotForecast(little, flat),
    )  # fmt: skip


_LITTLE, _FLAT = "too little history", "flat or falling"


def _projection(end: datetime, current: int | None, limit: int, points: Points) -> Projection | str | None:
    """When ``current`` reaches ``limit`` at the trend of ``points``, if within ``HORIZON``; else why not (None:
    gone, over already, or later than the horizon)."""
    if current is None or current >= limit:
        return None  # gone, or over its budget already: the violations say so
    trend = fit(points)
    if trend is None:
        return _LITTLE
    if trend.slope <= 0:
        return _FLAT
    seconds = (limit - current) / trend.slope
    if seconds > HORIZON.total_seconds():
        return None
    return Projection(
        series=current,
        max_series=limit,
        date=end + timedelta(seconds=seconds),
        days=round(seconds / 86400, 1),
        projected_series=round(current + trend.slope * HORIZON.total_seconds()),
        points=trend.points,
        spread=round(trend.spread, 2),
        confidence=_confidence(trend.points, trend.spread),
    )


def _confidence(points: int, spread: float) -> str:
    """``high`` for a steady trend over a day or more of hourly points, ``low`` for a scattered one."""
    if points >= 24 and spread <= 0.5:
        return "high"
    return "medium" if spread <= 1.5 else "low"


def _total(head: Points) -> TotalForecast | None:
    trend = fit(head)
    if trend is None:
        return None
    now = head[-1][1]
    projected = round(now + trend.slope * HORIZON.total_seconds())
    return TotalForecast(int(now), projected, trend.points, round(trend.spread, 2))


@dataclass(frozen=True)
class QuarterInput:
    earlier_start: datetime
    earlier_end: datetime
    first: Census | None
    """The last census of the earlier period (``last`` is of this one)."""
    last: Census | None
    earlier_snapshots: list[SnapshotRow]
    findings: list[FindingRow]
    """Findings open at some point from the earlier period's start to this period's end."""


def quarter(inp: QuarterInput, start: datetime, end: datetime, keep: set[str] | None) -> Quarter:
    """This period against the same period 13 weeks earlier (``keep``: the owner's metrics, or all)."""
    before = _kept(inp.first.metrics if inp.first else {}, keep)
    now = _kept(inp.last.metrics if inp.last else {}, keep)
    growers = sorted(now, key=lambda m: (-(now[m] - before.get(m, 0)), m))[:TOP_GROWERS]
    return Quarter(
        earlier=PeriodTotals(inp.earlier_start, inp.earlier_end, *_totals(inp.first, before, keep)),
        now=PeriodTotals(start, end, *_totals(inp.last, now, keep)),
        top_growers=[
            QuarterGrower(m, before.get(m), now[m], now[m] - before.get(m, 0))
            for m in growers if now[m] - before.get(m, 0) > 0
        ],
        violations=QuarterViolations(
            earlier=_opened_resolved(inp.findings, inp.earlier_start, inp.earlier_end),
            now=_opened_resolved(inp.findings, start, end),
        ),
    )  # fmt: skip


def _kept(metrics: dict[str, int], keep: set[str] | None) -> dict[str, int]:
    return metrics if keep is None else {m: n for m, n in metrics.items() if m in keep}


def _totals(census: Census | None, metrics: dict[str, int], keep: set[str] | None) -> tuple[int | None, int | None]:
    """(series, metrics) of a period's census: the server's head, or the owner's metrics summed."""
    if census is None:
        return None, None
    series = census.head.num_series if keep is None and census.head.num_series else sum(metrics.values())
    return series, len(metrics)


def _opened_resolved(findings: Sequence[FindingRow], start: datetime, end: datetime) -> OpenedResolved:
    violations = [f for f in findings if f.severity == "exceeded"]
    return OpenedResolved(
        opened=sum(1 for f in violations if start <= f.first_seen <= end),
        resolved=sum(1 for f in violations if f.resolved_at is not None and start <= f.resolved_at <= end),
    )


def regressions(findings: Sequence[FindingRow], since: datetime, end: datetime) -> list[Regression]:
    """Violations resolved in [since, end] and opened again after (by identity), oldest first."""
    by_identity: dict[tuple[str, ...], list[FindingRow]] = {}
    for f in findings:
        if f.severity == "exceeded":
            by_identity.setdefault(f.identity, []).append(f)
    out = []
    for rows in by_identity.values():
        rows.sort(key=lambda f: f.first_seen)
        for resolved, again in itertools.pairwise(rows):
            at = resolved.resolved_at
            if at is not None and since <= at <= end and again.first_seen > at:
                out.append(Regression(
                    metric=again.metric, kind=again.kind, label=again.label, owner=again.owner, resolved_at=at,
                    reopened_at=again.first_seen, open=again.resolved_at is None,
                    weeks_held=round((again.first_seen - at).total_seconds() / (7 * 86400), 1),
                ))  # fmt: skip
    return sorted(out, key=lambda r: (r.reopened_at, r.metric))


def open_weeks(findings: Sequence[FindingRow], end: datetime) -> list[OwnerWeeks]:
    """Per owner: violations of the quarter and the median weeks they stayed (or have been) open."""
    weeks: dict[str, list[float]] = {}
    for f in findings:
        if f.severity == "exceeded":
            until = f.resolved_at or end
            weeks.setdefault(f.owner, []).append((until - f.first_seen).total_seconds() / (7 * 86400))
    still = {f.owner: 0 for f in findings}
    for f in findings:
        if f.severity == "exceeded" and f.resolved_at is None:
            still[f.owner] += 1
    return [
        OwnerWeeks(owner, len(w), round(statistics.median(w), 1), still[owner])
        for owner, w in sorted(weeks.items())
    ]  # fmt: skip

"""The report's "Fixes: predicted and measured": what landed this period, what it saved, how far the predictions
were off, what came back, what did harm, and the fixes still open, oldest first (docs/fixes.md)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from auditor.core.budgets import Budgets
from auditor.core.fixes import FixState, LedgerFix
from auditor.core.plans import RecordedPlan
from auditor.core.remedies import BY_JOB


@dataclass(frozen=True)
class FixRow:
    metric: str
    label: str | None
    action: str
    owner: str
    state: str
    proposed_at: datetime
    applied_at: datetime | None
    series_before: int
    predicted_series: int | None
    measured_series: int | None
    error_ratio: float | None
    series_saved: int
    job: str | None = None
    """The scrape job of a histogram's fix (``convert_histogram``, ``drop_buckets``)."""


@dataclass(frozen=True)
class PlanRow:
    """A recorded plan (``plan --record``) and what the job sent after it."""

    job: str
    metric: str
    owner: str
    recorded_at: datetime
    predicted_series: int
    measured_series: int | None
    error_ratio: float | None


@dataclass(frozen=True)
class FixesSection:
    applied: list[FixRow]
    """Fixes that landed within the period, with their prediction and what was measured."""
    series_saved: int
    """Active series fewer than before, over those fixes (merged series are never counted)."""
    mean_error_ratio: float | None
    """Mean of |measured - predicted| / predicted over those fixes; None when none was measured."""
    regressions: list[FixRow]
    harmful: list[FixRow]
    open: list[FixRow]
    """Proposed and not applied yet, oldest first."""
    plans: list[PlanRow] = field(default_factory=list)
    """Plans recorded before the period's end, with their last measurement (docs/plan.md)."""


def fixes_section(
    ledger: Iterable[LedgerFix], start: datetime, end: datetime, budgets: Budgets, owner: str | None, *,
    plans: Iterable[RecordedPlan] = (),
) -> FixesSection:  # fmt: skip
    rows = [(f, _row(f, budgets)) for f in ledger]
    rows = [(f, r) for f, r in rows if owner is None or r.owner == owner]
    applied = [(f, r) for f, r in rows if f.applied_at is not None and start <= f.applied_at <= end]
    errors = [abs(f.error_ratio) for f, _ in applied if f.error_ratio is not None and f.state is not FixState.HARMFUL]
    return FixesSection(
        applied=[r for _, r in applied], series_saved=sum(r.series_saved for _, r in applied),
        mean_error_ratio=sum(errors) / len(errors) if errors else None,
        regressions=[r for f, r in rows if f.state is FixState.REGRESSED],
        harmful=[r for f, r in rows if f.state is FixState.HARMFUL],
        open=[r for f, r in sorted(rows, key=lambda fr: fr[0].proposed_at) if f.state is FixState.PROPOSED],
        plans=_plans(plans, end, budgets, owner),
    )  # fmt: skip


def _plans(plans: Iterable[RecordedPlan], end: datetime, budgets: Budgets, owner: str | None) -> list[PlanRow]:
    rows = [PlanRow(p.job, p.metric, budgets.for_metric(p.metric).owner, p.recorded_at, p.predicted_series,
                    p.measured_series, p.error_ratio) for p in plans if p.recorded_at <= end]  # fmt: skip
    return [r for r in rows if owner is None or r.owner == owner]


def _row(f: LedgerFix, budgets: Budgets) -> FixRow:
    job = f.label if f.action in BY_JOB else None
    owner = budgets.for_metric(f.metric + "_bucket" if job is not None else f.metric).owner
    return FixRow(
        f.metric, None if job is not None else f.label or None, f.action.value, owner, f.state.value, f.proposed_at,
        f.applied_at, f.series_before, f.predicted_series, f.measured_series, f.error_ratio, f.series_saved, job,
    )  # fmt: skip

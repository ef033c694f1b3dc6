"""Pure checks: domain objects in, findings out. One module per check in ``checks/``, one registry.

evaluation = evaluate(EvaluationInput(census, budgets, labels=..., baselines=...))
evaluation.violations          # findings of severity "exceeded", every kind
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.core.domain import LabelStats
from auditor.core.findings import Finding, Kind, Severity
from auditor.evaluate.checks import FINDING_CHECKS, forecast, series
from auditor.evaluate.checks.forecast import BudgetForecast, Forecast, SampleLimitForecast
from auditor.evaluate.model import EvaluationInput


@dataclass(frozen=True, slots=True)
class MetricStatus:
    """Budget state of one metric, as exported on /metrics."""

    metric: str
    owner: str
    series: int
    max_series: int
    usage: float
    warning: bool
    exceeded: bool
    explicit: bool
    exhaustion_seconds: float | None


@dataclass(frozen=True)
class Evaluation:
    findings: tuple[Finding, ...]
    statuses: dict[str, MetricStatus]
    job_limit_seconds: dict[str, float] = field(default_factory=dict)
    """job -> seconds until its largest target reaches the job's ``sample_limit`` (rising jobs only)."""

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.EXCEEDED]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.WARNING]

    def owner_series(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for status in self.statuses.values():
            totals[status.owner] = totals.get(status.owner, 0) + status.series
        return totals


def evaluate(inp: EvaluationInput) -> Evaluation:
    findings = tuple(f for check in FINDING_CHECKS for f in check.check(inp))
    forecasts = tuple(forecast.check(inp))
    limits = {f.job: f.seconds for f in forecasts if isinstance(f, SampleLimitForecast)}
    return Evaluation(findings, statuses(inp, findings, forecasts), limits)


def statuses(
    inp: EvaluationInput, findings: tuple[Finding, ...], forecasts: tuple[Forecast, ...]
) -> dict[str, MetricStatus]:
    series_findings = {f.subject: f.severity for f in findings if f.kind is Kind.SERIES}
    exhaustion = {f.metric: f.seconds for f in forecasts if isinstance(f, BudgetForecast)}
    out = {}
    for metric, count in inp.census.metrics.items():
        budget = inp.budget(metric)
        severity = series_findings.get(metric)
        out[metric] = MetricStatus(
            metric=metric,
            owner=budget.owner,
            series=count,
            max_series=budget.max_series,
            usage=series.usage(count, budget.max_series),
            warning=severity is Severity.WARNING,
            exceeded=severity is Severity.EXCEEDED,
            explicit=budget.explicit,
            exhaustion_seconds=exhaustion.get(metric),
        )
    return out


__all__ = [
    "Evaluation",
    "EvaluationInput",
    "Finding",
    "Kind",
    "LabelStats",
    "MetricStatus",
    "Severity",
    "evaluate",
]

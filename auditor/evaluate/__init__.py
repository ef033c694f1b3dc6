"""Pure checks: domain objects in, findings out. One module per check, one registry.

evaluation = evaluate(EvaluationInput(census, budgets, labels=..., baselines=...))
evaluation.violations          # findings of severity "exceeded", every kind
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType

from auditor.evaluate import (
    forecast,
    growth,
    job_budget,
    job_growth,
    label_budget,
    label_policy,
    scrape_limit,
    series_budget,
    unprotected_job,
)
from auditor.evaluate.model import EvaluationInput, Finding, Kind, LabelStats, Severity

CHECKS: tuple[ModuleType, ...] = (
    series_budget, growth, label_budget, label_policy, job_budget, job_growth, scrape_limit, unprotected_job,
)  # fmt: skip
"""Every check: a module with ``NAME`` and ``check(EvaluationInput) -> Iterator[Finding]``.

Each has its page in ``docs/checks/<NAME>.md``.
"""


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
    findings = tuple(_all_findings(inp))
    return Evaluation(findings, statuses(inp, findings), scrape_limit.forecasts(inp))


def _all_findings(inp: EvaluationInput) -> Iterator[Finding]:
    for module in CHECKS:
        check: Callable[[EvaluationInput], Iterator[Finding]] = module.check
        yield from check(inp)


def statuses(inp: EvaluationInput, findings: tuple[Finding, ...]) -> dict[str, MetricStatus]:
    series_findings = {f.metric: f.severity for f in findings if f.kind is Kind.SERIES}
    out = {}
    for metric, series in inp.census.metrics.items():
        budget = inp.budget(metric)
        severity = series_findings.get(metric)
        points = inp.trends.get(metric)
        out[metric] = MetricStatus(
            metric=metric,
            owner=budget.owner,
            series=series,
            max_series=budget.max_series,
            usage=series_budget.usage(series, budget.max_series),
            warning=severity is Severity.WARNING,
            exceeded=severity is Severity.EXCEEDED,
            explicit=budget.explicit,
            exhaustion_seconds=forecast.seconds_to_budget(points, series, budget.max_series) if points else None,
        )
    return out


__all__ = [
    "CHECKS",
    "Evaluation",
    "EvaluationInput",
    "Finding",
    "Kind",
    "LabelStats",
    "MetricStatus",
    "Severity",
    "evaluate",
]

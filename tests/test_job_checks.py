"""Job growth, the time-to-sample_limit forecast and which offenders get attributed: pure, exact."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from auditor.config.budgets import load_budgets
from auditor.core.budgets import Budgets
from auditor.core.findings import Finding, GrowthFinding, Kind, SeriesFinding, Severity
from auditor.core.job_findings import JobBudgetFinding
from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.evaluate import EvaluationInput, evaluate
from auditor.evaluate.checks.forecast import seconds_to_limit
from auditor.evaluate.targets import offenders
from tests.test_evaluate import census

BUDGETS = """
defaults: {owner: platform, max_series: 1000, max_growth: {1d: 0.01}, growth_min_series: 50}
jobs:
  - name: api
    owner: team-api
    max_series: 10000
    max_growth: {1d: 0.2, 7d: 0.5}
  - name: quiet
    max_series: 10000
"""
DAY, WEEK = timedelta(days=1), timedelta(days=7)


@pytest.fixture
def budgets(tmp_path: Path) -> Budgets:
    path = tmp_path / "budgets.yml"
    path.write_text(BUDGETS)
    return load_budgets(path, today=date(2026, 11, 22))


def job(name: str, series: int, largest: int = 0, limit: int = 0) -> JobStats:
    return JobStats(name, series, 1, 0, (TargetStats("t:1", largest or series),), {"sample_limit": limit})


def judged(budgets: Budgets, jobs: list[JobStats], **history: object) -> set[tuple[str, timedelta | None, float]]:
    inp = EvaluationInput(census({"m": 1}), budgets, jobs=JobCensus({j.job: j for j in jobs}), **history)  # type: ignore[arg-type]
    return {(f.subject, f.window, round(f.value, 3)) for f in evaluate(inp).findings if f.kind is Kind.JOB_GROWTH}


def test_job_growth_compares_hourly_maxima_one_window_apart_per_entry(budgets: Budgets) -> None:
    jobs = [job("api", 300), job("quiet", 300), job("other", 300)]
    baselines = {DAY: {"api": 240, "quiet": 10, "other": 10}, WEEK: {"api": 100}}
    assert judged(budgets, jobs, job_baselines=baselines) == {("api", DAY, 0.25), ("api", WEEK, 2.0)}, (
        "quiet's entry sets no max_growth; other has no entry; the metric defaults' growth does not apply to jobs"
    )
    recent = {"api": 360}
    assert judged(budgets, jobs, job_baselines=baselines, job_recent_max=recent) == {
        ("api", DAY, 0.5), ("api", WEEK, 2.6)
    }, "now is this hour's maximum"  # fmt: skip
    assert judged(budgets, jobs, job_baselines={DAY: {"api": 250}}) == set(), "+20 % is the limit, not over it"
    assert judged(budgets, [job("api", 40)], job_baselines={DAY: {"api": 1}}) == set(), "below growth_min_series"
    assert judged(budgets, jobs, job_baselines={DAY: {}}) == set(), "no baseline: a new job is not judged"


def test_the_sample_limit_forecast_fits_the_largest_targets_hours() -> None:
    hours = [(h * 3600.0, 20.0 + 10 * h) for h in range(7)]  # 20 .. 80, +10 an hour
    assert seconds_to_limit(job("api", 80, 80, 100), hours) == pytest.approx(2 * 3600)
    assert seconds_to_limit(job("api", 80, 80, 0), hours) is None, "no sample_limit: nothing to reach"
    assert seconds_to_limit(job("api", 80, 80, 100), hours[:3]) is None, "too short a history"
    flat = [(h * 3600.0, 80.0) for h in range(7)]
    assert seconds_to_limit(job("api", 80, 80, 100), flat) is None, "not rising"
    assert seconds_to_limit(job("api", 120, 120, 100), flat) == 0, "over the limit already"
    spike = [*hours[:-1], (6 * 3600.0, 1000.0)]
    assert seconds_to_limit(job("api", 80, 80, 100), spike) == pytest.approx(2 * 3600), "one outlier moves nothing"


def test_evaluation_carries_the_forecast_of_rising_jobs_only(budgets: Budgets) -> None:
    trends = {"api": [(h * 3600.0, 20.0 + 10 * h) for h in range(7)], "quiet": [(h * 3600.0, 5.0) for h in range(7)]}
    jobs = JobCensus({"api": job("api", 80, 80, 100), "quiet": job("quiet", 5, 5, 100)})
    inp = EvaluationInput(census({"m": 1}), budgets, jobs=jobs, job_trends=trends)
    assert evaluate(inp).job_limit_seconds == {"api": pytest.approx(7200)}


def test_offenders_are_over_budget_first_then_grown_fastest_first() -> None:
    def finding(metric: str, kind: Kind, severity: Severity, value: float = 0.0) -> Finding:
        if kind is Kind.GROWTH:
            return GrowthFinding(metric=metric, owner="o", severity=severity, series_now=0, budget=0, over=DAY,
                                 growth=value, max_growth=0)  # fmt: skip
        if kind is Kind.JOB:
            return JobBudgetFinding(job=metric, owner="o", severity=severity, series_now=0, budget=0)
        return SeriesFinding(metric=metric, owner="o", severity=severity, series_now=0, budget=0)

    c = census({"big": 900, "small": 500, "fast": 10, "faster": 20, "warned": 950})
    found = [
        finding("small", Kind.SERIES, Severity.EXCEEDED), finding("big", Kind.SERIES, Severity.EXCEEDED),
        finding("warned", Kind.SERIES, Severity.WARNING), finding("fast", Kind.GROWTH, Severity.EXCEEDED, 0.5),
        finding("faster", Kind.GROWTH, Severity.EXCEEDED, 2.0), finding("big", Kind.GROWTH, Severity.EXCEEDED, 9.0),
        finding("job", Kind.JOB, Severity.EXCEEDED),
    ]  # fmt: skip
    assert offenders(c, found) == ["big", "small", "faster", "fast"]

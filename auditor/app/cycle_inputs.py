"""What a cycle's checks read from the stored history: growth baselines, this hour's maxima, forecast trends."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.cycle import Drilldown as DrilldownLabels
from auditor.core.domain import Census, floor_seconds
from auditor.core.jobs import JobCensus
from auditor.evaluate import EvaluationInput
from auditor.evaluate.checks.forecast import target_trends
from auditor.evaluate.targets import forecast_targets
from auditor.store import Store
from auditor.store.hourly import HourlyMaxima, hour_start


def evaluation_input(
    store: Store,
    census: Census,
    budgets: Budgets,
    labels: DrilldownLabels,
    settings: Settings,
    *,
    maxima: HourlyMaxima | None = None,
    jobs: JobCensus | None = None,
) -> EvaluationInput:
    """What the checks need from the stored history, around ``census`` (same source; each metric in its notion).

    Growth compares clock-hour maxima: this hour's against the hour one window ago.
    """
    maxima = maxima or HourlyMaxima(store)
    now = census.collected_at
    windows = budgets.growth_windows()
    baselines = {window: maxima.hour_of(census, hour_start(now - window)) for window in windows}
    # Only the growth check reads this hour's maxima: no query when no budget limits growth.
    recent_max = maxima.current(census) if windows else dict(census.metrics)
    trends = store.trends(census, forecast_targets(census, budgets), now - settings.forecast_window)
    for metric, points in trends.items():
        _with_now(points, now, census.metrics.get(metric, 0))
    inp = EvaluationInput(census, budgets, labels, baselines, recent_max, trends, jobs)
    return inp if jobs is None else _with_job_history(inp, store, jobs, settings)


def _with_now(points: list[tuple[float, float]], now: datetime, value: int) -> None:
    """The trend's last hour includes the figure of this cycle (its point, if the hour has none yet)."""
    hour = floor_seconds(now.timestamp(), 3600)
    if points and points[-1][0] == hour:
        points[-1] = (hour, max(points[-1][1], float(value)))
    else:
        points.append((hour, float(value)))


def _with_job_history(inp: EvaluationInput, store: Store, jobs: JobCensus, settings: Settings) -> EvaluationInput:
    """Job growth baselines and this hour's maxima (only when a ``jobs:`` entry limits growth), and the trends
    of the largest targets of jobs with a ``sample_limit`` (the forecast)."""
    source, now = inp.census.source, inp.now
    windows = inp.budgets.job_growth_windows()
    baselines = {window: store.job_hour_max(source, hour_start(now - window)) for window in windows}
    recent = store.job_hour_max(source, hour_start(now)) if windows else {}
    limited = any(stats.sample_limit for stats in jobs.jobs.values())
    trends = target_trends(jobs, store.job_hours(source, now - settings.forecast_window) if limited else {})
    for job, points in trends.items():
        _with_now(points, now, jobs.jobs[job].largest_target_series)
    return replace(inp, job_baselines=baselines, job_recent_max=recent, job_trends=trends)

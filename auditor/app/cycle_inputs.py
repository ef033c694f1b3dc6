"""What a cycle's checks read from the stored history: growth baselines, this hour's maxima, forecast trends."""

from __future__ import annotations

from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.domain import Census, floor_seconds
from auditor.core.jobs import JobCensus
from auditor.evaluate import EvaluationInput
from auditor.evaluate.targets import forecast_targets
from auditor.store import Store
from auditor.store.hourly import HourlyMaxima, hour_start
from auditor.store.repository import Drilldown as DrilldownLabels


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
    hour = floor_seconds(now.timestamp(), 3600)
    for metric, points in trends.items():
        series = float(census.metrics.get(metric, 0))
        if points and points[-1][0] == hour:
            points[-1] = (hour, max(points[-1][1], series))
        else:
            points.append((hour, series))
    return EvaluationInput(census, budgets, labels, baselines, recent_max, trends, jobs)

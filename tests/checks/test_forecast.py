"""Check ``forecast`` on the fixed input: a metric on its way to its budget, a job's largest target to its
``sample_limit``; a falling or flat trend is not forecast."""

from __future__ import annotations

from auditor.evaluate.checks import forecast
from tests.checks.conftest import Snapshot
from tests.checks.fixed import fixed_input


def test_forecast_reports_what_its_snapshot_holds(snapshot: Snapshot) -> None:
    found = list(forecast.check(fixed_input()))
    snapshot(forecast.NAME, found)
    assert {type(f) for f in found} == {forecast.BudgetForecast, forecast.SampleLimitForecast}
    assert all(f.seconds > 0 for f in found)

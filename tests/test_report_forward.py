"""The report's forward view on SQLite and PostgreSQL: the 30-day forecast, the quarter, regressions.

Hand-made histories with known trends, stored through the store, read back by ``gather`` (no Prometheus).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.app.reporting import gather
from auditor.config.budgets import load_budgets
from auditor.config.settings import Settings
from auditor.core.calendar import week_period
from auditor.core.findings import SeriesFinding, Severity
from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.evaluate.report import Report, build
from auditor.evaluate.report_outlook import NotForecast
from auditor.export.report_render import render
from auditor.store import Store
from auditor.store.compaction import Retention, compact
from tests.support.builders import CLOCK, census, missing, save_census

W47 = week_period("2026-W47", "UTC")
BUDGETS = """defaults: {owner: platform, max_series: 100000}
metrics:
  - {name: grower, owner: team-a, max_series: 1000}
  - {name: flat, owner: team-a, max_series: 1000}
  - {name: young, owner: team-b, max_series: 1000}
  - {name: slow, owner: team-b, max_series: 100000}
jobs:
  - {name: api, owner: team-a, max_series: 1000}
"""
HOUR = timedelta(hours=1)


def report(store: Store, tmp_path: Path, owner: str | None = None) -> Report:
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(BUDGETS)
    settings = Settings(source="prod", budgets_file=budgets)  # type: ignore[call-arg]
    return build(gather(store, settings, "prod", W47, budgets=load_budgets(budgets), owner=owner))


def linear_history(store: Store, spike: bool = False) -> None:
    """72 hourly cycles up to the week's end: grower +10 an hour to 640, flat at 300, slow +1 an hour."""
    for h in range(72):
        at = W47.end - (72 - h) * HOUR + timedelta(minutes=5)
        grower = 640 - 10 * (71 - h)
        if spike and h == 60:
            grower = 5000  # one wild hour
        metrics = {"grower": grower, "flat": 300, "slow": 100 + h}
        if h >= 70:
            metrics["young"] = 500 + 100 * (h - 70)
        api = JobStats("api", grower, 1, 0, (TargetStats("a:1", grower),), {"sample_limit": 0})
        save_census(store, census(metrics, at), "u", 0.1, jobs=JobCensus({"api": api}))


def test_a_linear_grower_reaches_its_budget_on_the_expected_day(engine: Engine, tmp_path: Path) -> None:
    store = Store(engine)
    linear_history(store)
    section = report(store, tmp_path).forecast
    assert section is not None
    [row] = section.metrics
    # 640 now, +10 an hour, budget 1000: 36 hours after the last cycle (55 minutes before the week's end).
    expected = W47.end - timedelta(minutes=55) + timedelta(hours=36)
    assert row.metric == "grower"
    assert abs(row.date - expected) < timedelta(days=1)
    assert row.date == pytest.approx(expected, abs=timedelta(hours=1))
    assert row.projected_series == 640 + 10 * 24 * 30
    assert (row.owner, row.series, row.max_series, row.confidence) == ("team-a", 640, 1000, "high")
    assert section.not_forecast == NotForecast(too_little_history=1, flat_or_falling=1), "young, and flat"
    [job] = section.jobs
    assert (job.job, job.owner, job.series, job.max_series) == ("api", "team-a", 640, 1000)
    assert abs(job.date - expected) < timedelta(days=1), "the job's series, stored with each cycle, grow alike"
    total = section.total_series
    assert total is not None
    assert total.series == 640 + 300 + 171 + 600 + 5, "the newest hour's head (census() adds 5)"


def test_an_outlier_moves_the_date_little(engine: Engine, tmp_path: Path) -> None:
    store = Store(engine)
    linear_history(store, spike=True)
    section = report(store, tmp_path).forecast
    assert section is not None
    [row] = section.metrics
    expected = W47.end - timedelta(minutes=55) + timedelta(hours=36)
    assert abs(row.date - expected) < timedelta(days=1), "one hour at 5,000 barely moves a Theil-Sen trend"


def test_the_html_draws_the_projection_and_an_owner_sees_only_theirs(engine: Engine, tmp_path: Path) -> None:
    store = Store(engine)
    linear_history(store)
    html = render(report(store, tmp_path), "html")
    assert "<h2>Next 30 days</h2>" in html
    assert 'stroke-dasharray="3 2"' in html, "the grower's sparkline carries its projection"
    markdown = render(report(store, tmp_path), "markdown")
    assert "| `grower` | team-a | 640 | 1,000 | 7,840 | high" in markdown
    assert "No date for 1 budgeted metrics with too little history" in markdown
    assert "- Job `api` (team-a) reaches its budget of 1,000 series around" in markdown
    mine = report(store, tmp_path, owner="team-b").forecast
    assert mine is not None
    assert (mine.metrics, mine.total_series) == ([], None)


def test_the_quarter_reads_the_earlier_period_from_its_rollups(engine: Engine, tmp_path: Path) -> None:
    store = Store(engine)
    earlier = W47.start - timedelta(weeks=13)
    for day in range(7):
        save_census(store, census({"grower": 100 + day, "flat": 300}, earlier + timedelta(days=day, hours=2)), "u", 0.1)
    now = {"grower": 640, "flat": 300, "fresh": 50}
    save_census(store, census(now, W47.end - timedelta(hours=3)), "u", 0.1)
    # Past the raw retention: the earlier period lives on in hourly and daily rollups only.
    compact(
        store, W47.end, Retention(timedelta(days=1), timedelta(days=14), timedelta(days=400)), monotonic=CLOCK.monotonic
    )
    section = report(store, tmp_path).quarter
    assert section is not None
    assert (section.earlier.series, section.earlier.metrics) == (106 + 300 + 5, 2)
    assert (section.now.series, section.now.metrics) == (640 + 300 + 50 + 5, 3)
    assert [(g.metric, g.series_earlier, g.series_now) for g in section.top_growers] == [
        ("grower", 106, 640), ("fresh", None, 50)
    ]  # fmt: skip
    assert section.earlier.data_completeness.successful_cycles == 7
    assert section.earlier.start == earlier


def test_a_violation_resolved_in_week_2_and_back_in_week_9_is_a_regression(engine: Engine, tmp_path: Path) -> None:
    store = Store(engine)
    quarter_start = W47.start - timedelta(weeks=13)
    over = SeriesFinding(metric="grower", owner="team-a", severity=Severity.EXCEEDED, series_now=1200, budget=1000)
    held = SeriesFinding(metric="flat", owner="team-a", severity=Severity.EXCEEDED, series_now=1100, budget=1000)
    for week, findings in [(0, [over, held]), (1, [over, held]), (2, [held]), (8, [held]), (9, [over, held]),
                           (13, [over])]:  # fmt: skip
        at = quarter_start + timedelta(weeks=week, days=1)
        save_census(store, census({"grower": 1200, "flat": 1100}, at), "u", 0.1, findings=findings)
    report_ = report(store, tmp_path)
    [regression] = report_.regressions
    assert regression.metric == "grower"
    assert regression.resolved_at == quarter_start + timedelta(weeks=2, days=1)
    assert regression.reopened_at == quarter_start + timedelta(weeks=9, days=1)
    assert (regression.weeks_held, regression.open) == (7.0, True)
    assert report_.quarter is not None
    weeks = {o.owner: o for o in report_.quarter.open_weeks}
    assert weeks["team-a"].violations == 3, "grower twice, flat once"
    assert weeks["team-a"].still_open == 1
    assert "back 2026-" in render(report_, "markdown")


def test_the_new_sections_render_in_headless_chromium(engine: Engine, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        missing("chromium (Debian package chromium)")
    store = Store(engine)
    linear_history(store)
    page = tmp_path / "report.html"
    page.write_text(render(report(store, tmp_path), "html"))
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    for heading in ("Next 30 days", "The quarter", "Regressions", "Owners"):
        assert f"<h2>{heading}</h2>" in dom, f"{heading} is in the page the browser built"
    assert 'stroke-dasharray="3 2"' in dom, "the projection survives the browser's parsing"

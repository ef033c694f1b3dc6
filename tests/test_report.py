"""The weekly report over hand-made history spanning several weeks: every section, every number."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import Engine, update

from auditor.app.reporting import gather
from auditor.cli.main import main
from auditor.config.budgets import load_budgets
from auditor.config.rulefiles import load_path
from auditor.config.settings import Settings
from auditor.core.calendar import week_period
from auditor.core.domain import LabelStats
from auditor.core.findings import Finding, SeriesFinding, Severity
from auditor.core.histograms import Inventory, JobFamily, NativeSupport
from auditor.evaluate.report import Report, build
from auditor.evaluate.report_sections import NewMetric, RemovedMetric, UsageNote
from auditor.export.report_render import render
from auditor.store import Store
from auditor.store.models import StoredFinding
from tests.support.builders import census, missing, save_census

ROOT = Path(__file__).resolve().parent.parent
W47 = week_period("2026-W47", "UTC")  # Monday 2026-11-16 to Monday 2026-11-23
BUDGETS = """defaults: {owner: platform, max_series: 10000}
metrics:
  - name: api_requests_total
    owner: team-api
    max_series: 300
  - name: gone_metric
    owner: team-old
"""
RULES_V1 = "groups:\n  - name: g\n    rules:\n      - record: job:api:rate5m\n        expr: sum by (job) (rate(api_requests_total[5m]))\n"  # noqa: E501
RULES_V2 = RULES_V1.replace("sum by (job)", "sum by (job, code)")
DASHBOARD = {
    "dashboard": {
        "title": "Payments",
        "panels": [{"targets": [{"expr": 'sum(rate(payments_total{job=~"$job"}[$__rate_interval]))'}]}],
    }
}


def at(day: int, hour: int = 0) -> datetime:
    return W47.start + timedelta(days=day, hours=hour)


def exceeded(metric: str, owner: str, series: int) -> Finding:
    return SeriesFinding(metric=metric, owner=owner, severity=Severity.EXCEEDED, series_now=series, budget=300)


HISTOGRAMS = Inventory(
    "3.5.3", NativeSupport(True, True, "native histograms are enabled (--enable-feature=native-histograms)"),
    (JobFamily("api_latency_seconds", "api", 40, 12, 480, ("0.005",), 40),
     JobFamily("payments_latency_seconds", "payments", 5, 8, 40)),
)  # fmt: skip


@pytest.fixture
def history(engine: Engine, tmp_path: Path) -> tuple[Store, Settings, Path]:
    store = Store(engine)
    budgets_path = tmp_path / "budgets.yml"
    budgets_path.write_text(BUDGETS)
    rules = tmp_path / "rules.yml"
    for weeks_back, head in [(4, 500), (3, 600), (2, 700), (1, 800)]:
        base = census(
            {"api_requests_total": 100, "payments_total": 50}, W47.start - timedelta(weeks=weeks_back, hours=-1)
        )
        save_census(store, replace(base, head=replace(base.head, num_series=head)), "u", 0.1)
    rules.write_text(RULES_V1)
    carried = exceeded("old_violation", "team-old", 500)
    save_census(store, census({"old_violation": 500}, W47.start - timedelta(days=10)), "u", 0.1, rules=load_path(rules),
                      findings=[carried])  # fmt: skip
    first = census({"api_requests_total": 100, "payments_total": 50, "gone_metric": 30, "big_unused": 300,
                    "old_violation": 500}, at(0, 1))  # fmt: skip
    drill_first = {"api_requests_total": {"user_id": LabelStats(90), "instance": LabelStats(1)}}
    save_census(store, first, "u", 0.1, drilldown=drill_first, findings=[carried], rules=load_path(rules))
    store.save_failure("prod", "u", at(2), reason="timeout", message="slow", duration=30)
    rules.write_text(RULES_V2)
    middle = census({"api_requests_total": 350, "payments_total": 50, "big_unused": 300, "old_violation": 500}, at(3))
    save_census(store, middle, "u", 0.1, findings=[carried, exceeded("api_requests_total", "team-api", 350)],
                      rules=load_path(rules))  # fmt: skip
    last = census({"api_requests_total": 400, "payments_total": 50, "fresh_metric": 70, "big_unused": 300,
                   "old_violation": 500}, at(6, 23))  # fmt: skip
    drill_last = {"api_requests_total": {"user_id": LabelStats(390, 1, 400, "numeric ids"), "instance": LabelStats(1)}}
    save_census(store, last, "u", 0.1, drilldown=drill_last, rules=load_path(rules), histograms=HISTOGRAMS,
                      findings=[carried, exceeded("api_requests_total", "team-api", 400)])  # fmt: skip
    dashboards = tmp_path / "dashboards"
    dashboards.mkdir()
    (dashboards / "payments.json").write_text(json.dumps(DASHBOARD))
    settings = Settings(source="prod", budgets_file=budgets_path, dashboards_dir=dashboards)  # type: ignore[call-arg]
    _ledger(store)
    return store, settings, budgets_path


def _ledger(store: Store) -> None:
    """Three fixes: one landed and verified in W47, one harmful, one still open."""
    from auditor.core.fixes import Observation
    from auditor.core.remedies import Action, Proof, Remedy
    from auditor.evaluate.fix_ledger import observe

    remedies = [
        Remedy(Action.DROP_LABEL, "payments_total", "pod_ip", True, Proof(50, 50, text="50 = 50"), 50, 50),
        Remedy(Action.DROP_LABEL, "big_unused", "shard", True, Proof(300, 300, text="300 = 300"), 300, 300),
        Remedy(Action.FIX_AT_SOURCE, "api_requests_total", "user_id", False, Proof(400, 1, text="400, 1"), 400, 1),
    ]
    store.fixes.record("prod", "u", remedies, at(1))
    seen = {"payments_total": [Observation(50, 0, 0.0), Observation(50, 0, 0.0)],
            "big_unused": [Observation(300, 0, 0.0), Observation(30, 0, 0.0)]}  # fmt: skip
    fixes = store.fixes.all("prod")
    for day, step in ((2, 0), (3, 1)):
        fixes = [observe(f, seen[f.metric][step], at(day)) if f.metric in seen else f for f in fixes]
    store.fixes.save(fixes)
    store.plans.record("prod", "u", "payments", {"payments_total": 50}, at(1))
    [recorded] = store.plans.all("prod")
    store.plans.measured([(recorded.id, 55, at(2))])


def build_w47(history: tuple[Store, Settings, Path], owner: str | None = None) -> Report:
    store, settings, budgets_path = history
    return build(gather(store, settings, "prod", W47, budgets=load_budgets(budgets_path), owner=owner))


def by(rows: list[Any], key: str = "metric") -> dict[str, Any]:
    return {getattr(row, key): row for row in rows}


def test_every_section_holds_the_right_metrics_and_numbers(history: tuple[Store, Settings, Path]) -> None:
    report = build_w47(history)
    s = report.summary
    assert (s.series_start, s.series_end) == (985, 1325)  # census() adds 5 to the sum of the metrics
    # the last head of each of the four weeks before: 800, then 505 (the census that opened old_violation), 600, 500
    assert s.baseline_4w == (800 + 505 + 600 + 500) / 4
    assert s.vs_baseline_ratio == pytest.approx(1325 / 601.25 - 1)
    assert (s.new_metrics, s.removed_metrics, s.open_violations) == (1, 1, 2)

    top = by(report.top_metrics)
    assert [m.metric for m in report.top_metrics][:2] == ["old_violation", "api_requests_total"]
    assert top["api_requests_total"].read_by_rules == ["g/job:api:rate5m"]
    assert top["payments_total"].read_by_dashboards == ["Payments"]
    assert top["api_requests_total"].change == 300
    assert [p.series for p in top["api_requests_total"].trend] == [100, 350, 400]

    [growth] = report.growth
    assert (growth.metric, growth.series_start, growth.series_end) == ("api_requests_total", 100, 400)
    assert growth.cause == "more values of `user_id`: 90 -> 390"

    assert report.new_metrics == [NewMetric(metric="fresh_metric", owner="platform", series=70)]
    assert report.removed_metrics == [RemovedMetric(metric="gone_metric", owner="team-old", series_start=30)]

    violations = by(report.budget_violations)
    assert violations["old_violation"].carried_over is True
    assert violations["old_violation"].weeks_open == pytest.approx(17 / 7, abs=0.05)
    assert violations["api_requests_total"].carried_over is False
    assert violations["api_requests_total"].since == at(3)

    assert [m.metric for m in report.unused_metrics] == ["old_violation", "big_unused"]
    [change] = report.rule_changes
    assert (change.changed, change.added, change.first_seen) == (["job:api:rate5m"], [], at(3))
    assert {s.metric for s in report.suggestions} == {"api_requests_total", "old_violation"}
    fix = by(report.suggestions)["api_requests_total"]
    assert (fix.action, fix.label, fix.safe, fix.config) == ("fix_at_source", "user_id", False, None)
    assert (fix.series_now, fix.predicted_series, fix.series_saved) == (400, 1, 0), "no saving claimed from a merge"

    c = report.data_completeness
    assert c.failed_cycles == {"timeout": 1}
    assert c.successful_cycles == 3
    assert c.complete is False
    assert [round(g.hours) for g in c.gaps] == [1, 71, 95, 1]


def test_owner_filter_keeps_one_team(history: tuple[Store, Settings, Path]) -> None:
    report = build_w47(history, owner="team-api")
    assert [m.metric for m in report.top_metrics] == ["api_requests_total"]
    assert [v.metric for v in report.budget_violations] == ["api_requests_total"]
    assert report.summary.series_end == 400
    assert report.new_metrics == []


def test_the_report_schema_is_generated_from_the_report_types() -> None:
    """docs/report.schema.json is what the types say: `python -m auditor.export.report_schema` rewrites it."""
    from auditor.export.report_schema import report_schema

    assert json.loads((ROOT / "docs" / "report.schema.json").read_text()) == report_schema()


def test_json_validates_and_csv_parses(history: tuple[Store, Settings, Path]) -> None:
    report = build_w47(history)
    document = json.loads(render(report, "json"))
    jsonschema.validate(document, json.loads((ROOT / "docs" / "report.schema.json").read_text()))
    assert document["schema_version"] == 1
    rows = list(csv.DictReader(io.StringIO(render(report, "csv"))))
    api = next(r for r in rows if r["metric"] == "api_requests_total")
    assert (api["series_start"], api["series_end"], api["violations"], api["read_by_rules"]) == (
        "100",
        "400",
        "series",
        "1",
    )
    assert next(r for r in rows if r["metric"] == "gone_metric")["removed"] == "True"


def test_markdown_sections(history: tuple[Store, Settings, Path]) -> None:
    text = render(build_w47(history), "markdown")
    for heading in ("## Summary", "## Top metrics", "## Growth", "## New metrics", "## Removed metrics",
                    "## Budget violations", "## Unused metrics", "## Rule changes", "## Fixes"):  # fmt: skip
        assert heading in text
    assert "**carried over**" in text
    assert "Data completeness" in text
    # names are code spans: copied or grepped as they are, not as new\_feature\_flags
    assert "more values of `user_id`: 90 -\\> 390" in text
    assert "| `api_requests_total` | team-api |" in text
    html = render(build_w47(history), "html")
    assert "more values of <code>user_id</code>: 90 -&gt; 390" in html
    assert '<td class="name"><code>api_requests_total</code></td>' in html


HOSTILE = "<script>alert(\"x\")</script> 'quoted' | *bold* " + "é" * 300


def test_hostile_text_is_escaped(history: tuple[Store, Settings, Path]) -> None:
    report = build_w47(history)
    report = replace(report, period=replace(report.period, source=HOSTILE),
                     growth=[replace(report.growth[0], cause=HOSTILE)])  # fmt: skip
    html = render(report, "html")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    md = render(report, "markdown")
    assert "<script>" not in md
    assert "\\<script\\>" in md
    assert "\\| \\*bold\\*" in md
    coded = replace(report, growth=[replace(report.growth[0], cause="`<b>x|y</b>` grew")])
    assert "<code>&lt;b&gt;x|y&lt;/b&gt;</code> grew" in render(coded, "html")
    assert "`<b>x\\|y</b>` grew" in render(coded, "markdown")


def test_html_is_self_contained_and_renders_in_chromium(history: tuple[Store, Settings, Path], tmp_path: Path) -> None:
    html = render(build_w47(history), "html")
    external = re.findall(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//|@import""", html)
    assert external == []
    assert "<script" not in html
    assert "<svg" in html, "the charts are inline SVG"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        missing("chromium (Debian package chromium)")
    page = tmp_path / "report.html"
    page.write_text(html)
    png = tmp_path / "report.png"
    result = subprocess.run(
        [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2600", f"--screenshot={png}", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000, "a page with content, not a blank screen"


def test_report_command(history: tuple[Store, Settings, Path], database_url: str, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    _, _, budgets_path = history
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(budgets_path))
    out = tmp_path / "w47.json"
    assert main(["report", "--week", "2026-W47", "--format", "json", "--output", str(out)]) == 0
    assert json.loads(out.read_text())["period"]["label"] == "2026-W47"
    assert main(["report", "--week", "2026-W47", "--owner", "team-api"]) == 0
    assert "`api_requests_total`" in capsys.readouterr().out
    assert main(["report", "--week", "2026-W99"]) == 2
    assert main(["report", "--since", "2026-11-20", "--until", "2026-11-19"]) == 2
    capsys.readouterr()
    monkeypatch.setenv("AUDITOR_DASHBOARDS_DIR", str(tmp_path / "no-such-folder"))
    assert main(["report", "--week", "2026-W47"]) == 2, "read as no dashboards, every metric would look unused"
    assert f"AUDITOR_DASHBOARDS_DIR: {tmp_path / 'no-such-folder'} does not exist" in capsys.readouterr().err


def test_resolved_violations_say_when(history: tuple[Store, Settings, Path]) -> None:
    store, _, _ = history
    with store.engine.begin() as conn:
        conn.execute(update(StoredFinding).where(StoredFinding.resolved_at.is_(None)).values(resolved_at=at(5)))
    report = build_w47(history)
    assert {v.resolved_at for v in report.budget_violations} == {at(5)}
    assert report.summary.open_violations == 0
    assert report.suggestions == []
    assert W47.start.tzinfo is UTC


def test_svg_charts_are_drawn_from_numbers_only() -> None:
    from auditor.export.svg import area, sparkline

    assert sparkline([5]) == ""
    line = str(sparkline([0, 10, 5], width=100, height=20))
    assert 'points="2.0,18.0 50.0,2.0 98.0,10.0"' in line
    chart = str(area([10, 20], ("<start>", "end")))
    assert "&lt;start&gt;" in chart
    assert "<script" not in chart


def test_unused_is_measured_once_the_query_log_covers_the_window(history: tuple[Store, Settings, Path]) -> None:
    """With 40 days of query log: unused means no query, rule or dashboard read it; the scorecard shows cost."""
    from auditor.core.usage import LogPosition, QueryKind, QueryReads, UsageBatch

    store, settings, budgets_path = history
    batch = UsageBatch(position=LogPosition("/q.log", 1, 2, 100, ""))
    batch.credit(QueryReads(frozenset({"api_requests_total"}), frozenset(), ""), QueryKind.API, at(5))
    batch.credit(
        QueryReads(frozenset({"old_violation"}), frozenset(), ""), QueryKind.API, W47.end - timedelta(days=35)
    )  # before the 30-day window
    batch.earliest = W47.end - timedelta(days=40)
    store.usage.record("prod", "u", batch, at(5))
    costed = settings.model_copy(update={"cost_per_series_month": 0.02})
    report = build(gather(store, costed, "prod", W47, budgets=load_budgets(budgets_path)))
    assert report.usage == UsageNote(query_log=True, days_covered=30.0, window_days=30.0, known=True,
                                     note=report.usage.note)  # fmt: skip
    rows = by(report.unused_metrics)
    assert list(rows) == ["old_violation", "big_unused", "fresh_metric"], "payments_total: a dashboard reads it"
    assert rows["old_violation"].evidence == (
        "no query, rule or dashboard read it in 30 days; last queried " + f"{W47.end - timedelta(days=35):%Y-%m-%d}"
    )
    assert rows["big_unused"].evidence == "no query, rule or dashboard read it in the 30 days the query log covers"
    assert rows["big_unused"].relabel == (
        'metric_relabel_configs:\n  - source_labels: [__name__]\n    regex: "big_unused"\n    action: drop\n'
    )
    assert by(report.top_metrics)["api_requests_total"].read_by_queries == 1, "queries count as readers too"
    assert by(report.top_metrics)["big_unused"].read_by_queries == 0
    owners = by(report.owner_scorecard, "owner")
    assert owners["platform"].series_end == 50 + 70 + 300 + 500
    assert owners["platform"].unused_series == 70 + 300 + 500
    assert owners["platform"].cost_month == pytest.approx(920 * 0.02)
    assert owners["team-api"].budget_usage == pytest.approx(400 / 300)
    assert owners["team-api"].open_violations == 1
    markdown = render(report, "markdown")
    assert "| `big_unused` | platform | 300 | no query, rule or dashboard read it in the 30 days" in markdown
    assert "3 drop candidates, 870 series" in markdown
    assert "| platform | 920 |" in markdown
    html = render(report, "html")
    assert "<h2>Owners</h2>" in html
    assert "<th>cost a month</th>" in html


def test_without_a_query_log_the_report_says_usage_is_unknown_and_how_to_know(
    history: tuple[Store, Settings, Path],
) -> None:
    report = build_w47(history)
    assert report.usage.query_log is False
    assert "query_log_file: /prometheus/query.log" in report.usage.note
    assert (
        by(report.unused_metrics)["big_unused"].evidence == "no loaded rule and no dashboard reads it; queries unknown"
    )
    assert "Usage from queries is unknown" in render(report, "markdown")


def test_the_report_records_the_remedies_it_prints_in_the_fix_ledger(history: tuple[Store, Settings, Path]) -> None:
    from auditor.app.fixes import record_fixes
    from auditor.core.fixes import FixState

    store, settings, _ = history
    report = build_w47(history)
    record_fixes(store, settings, report, W47.end)
    ledger = {(f.metric, f.label, f.action.value): f for f in store.fixes.all("prod")}
    printed = {(s.metric, s.label or "", s.action) for s in report.suggestions}
    assert printed <= set(ledger), "every printed remedy is in the ledger"
    old = ledger[("old_violation", "", "drop_metric")]
    assert (old.state, old.safe, old.proposed_at) == (FixState.PROPOSED, False, W47.end)
    record_fixes(store, settings, report, W47.end + timedelta(days=7))
    assert len(store.fixes.all("prod")) == len(ledger), "printed again: recorded once"


def test_the_histogram_section_sums_what_converting_would_save_per_owner_and_job(
    history: tuple[Store, Settings, Path],
) -> None:
    h = build_w47(history).histograms
    assert (h.series_now, h.series_after) == (40 * 14 + 5 * 10, 45)
    assert h.switch_recommended
    assert [(c.metric, c.job, c.series_saved, c.empty_buckets) for c in h.candidates] == [
        ("api_latency_seconds", "api", 520, ["0.005"]), ("payments_latency_seconds", "payments", 45, [])
    ]  # fmt: skip
    assert {s.name: s.series_saved for s in h.by_job} == {"api": 520, "payments": 45}
    assert sum(s.series_saved for s in h.by_owner) == 565
    assert build_w47(history, owner="nobody").histograms.candidates == []


def test_a_recorded_plan_shows_its_prediction_error(history: tuple[Store, Settings, Path]) -> None:
    [p] = build_w47(history).fixes.plans
    assert (p.job, p.metric, p.predicted_series, p.measured_series) == ("payments", "payments_total", 50, 55)
    assert p.error_ratio == pytest.approx(0.1)

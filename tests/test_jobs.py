"""The job census on real Prometheus 2.42 and 3.5, each scraping exporters as separate jobs of known shapes.

``demo`` has two targets (30 and 12 series), ``api`` one target with ``sample_limit: 100`` and
``churner`` one target whose only series gets a new label every scrape. Samples per target are the
exporter's series (Prometheus counts its own per-target series apart).
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.app.wiring import build_auditor
from auditor.cli.main import main
from auditor.config.settings import DrilldownSettings, JobsSettings, Settings
from auditor.core.findings import Kind, Severity
from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus
from auditor.store import Store
from auditor.store.hourly import hour_start
from tests.support.builders import ClockOf, save_census, utc_now
from tests.support.servers import require, wait_until

pytestmark = [pytest.mark.prometheus, pytest.mark.slow]

BUDGETS = """\
defaults: {owner: platform, max_series: 100000}
metrics:
  - name: web_requests_total
    owner: team-web
    max_series: 20
jobs:
  - name: demo
    owner: team-web
    max_series: 40
  - match: "ap.*"
    owner: team-api
    max_series: 1000
"""


@dataclass
class Fleet:
    prometheus: LocalPrometheus
    web: tuple[Exporter, Exporter]
    api: Exporter
    churner: Exporter

    def instance(self, exporter: Exporter) -> str:
        return exporter.target


def _churn(exporter: Exporter, stop: threading.Event) -> None:
    step = 0
    while not stop.is_set():
        step += 1
        exporter.set("churny_requests", 1, label=f"request_{step}")
        try:
            exporter.wait_for_scrapes(1, timeout=5)
        except TimeoutError:
            continue


@pytest.fixture(scope="module", params=["2.42", "3.5"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    server = require(request.param)
    web = (Exporter(), Exporter())
    api, churner = Exporter(), Exporter()
    web[0].set("web_requests_total", 30)
    web[1].set("web_requests_total", 12)
    api.set("api_calls_total", 85)  # 85 % of its job's sample_limit
    for exporter in (*web, api, churner):
        exporter.start()
    stop = threading.Event()
    rotating = threading.Thread(target=_churn, args=(churner, stop), daemon=True)
    rotating.start()
    prometheus = LocalPrometheus(
        tmp_path_factory.mktemp(f"jobs-{request.param}"), [e.target for e in web], binary=server.binary,
        extra_jobs={"api": [api.target], "churner": [churner.target]},
        extra_job_options={"api": {"sample_limit": 100}},
    )  # fmt: skip
    try:
        prometheus.start()
        for exporter in (*web, api):
            exporter.wait_for_scrapes(8)  # past the churn window: the first scrape's series are no churn any more
        yield Fleet(prometheus, web, api, churner)
    finally:
        stop.set()
        rotating.join(timeout=10)
        prometheus.stop()
        for exporter in (*web, api, churner):
            exporter.stop()


def settings_for(fleet: Fleet, tmp_path: Path) -> Settings:
    budgets = tmp_path / "budgets.yml"
    budgets.write_text(BUDGETS)
    return Settings(  # type: ignore[call-arg]
        prometheus_url=fleet.prometheus.url, source="jobs", budgets_file=budgets, audit_interval=timedelta(seconds=5),
        drilldown=DrilldownSettings(top_n=0), jobs=JobsSettings(enabled=True),
    )  # fmt: skip


def test_jobs_targets_churn_limits_and_findings_are_exact(fleet: Fleet, engine: Engine, tmp_path: Path) -> None:
    with build_auditor(settings_for(fleet, tmp_path), engine=engine) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
        exposition = samples(scrape(auditor))
    assert details is not None
    assert details.jobs is not None
    jobs = details.jobs.jobs
    assert set(jobs) == {"demo", "api", "churner"}
    demo, api, churner = jobs["demo"], jobs["api"], jobs["churner"]
    assert (demo.series, demo.targets) == (42, 2)
    assert [(t.instance, t.series) for t in demo.largest_targets] == [
        (fleet.web[0].target, 30),
        (fleet.web[1].target, 12),
    ]
    assert (api.series, api.targets, api.sample_limit, api.limit_usage) == (85, 1, 100, 0.85)
    assert (churner.series, churner.targets, churner.sample_limit) == (1, 1, 0)
    assert (demo.series_added, api.series_added) == (0, 0), "stable jobs do not churn"
    assert churner.series_added >= 2, "a new series every scrape"
    assert churner.largest_targets[0].series_added == churner.series_added

    found = {(f.kind, f.subject, f.severity, f.detail) for f in details.evaluation.findings if f.kind in (
        Kind.JOB, Kind.SCRAPE_LIMIT, Kind.UNPROTECTED_JOB)}  # fmt: skip
    assert found == {
        (Kind.JOB, "demo", Severity.EXCEEDED, ""),                                   # 42 > 40
        (Kind.SCRAPE_LIMIT, "api", Severity.WARNING, fleet.api.target),              # 85 % of 100
        (Kind.UNPROTECTED_JOB, "demo", Severity.WARNING, ""),
        (Kind.UNPROTECTED_JOB, "churner", Severity.WARNING, ""),
    }  # fmt: skip
    owners = {(f.kind, f.subject): f.owner for f in details.evaluation.findings}
    assert owners[(Kind.JOB, "demo")] == "team-web"
    assert owners[(Kind.SCRAPE_LIMIT, "api")] == "team-api"
    assert owners[(Kind.UNPROTECTED_JOB, "churner")] == "platform"

    # One series per job in the self-metrics (never per target), owners from the budgets file.
    assert exposition["metrics_auditor_job_series"] == {
        (("job", "demo"), ("owner", "team-web")): 42, (("job", "api"), ("owner", "team-api")): 85,
        (("job", "churner"), ("owner", "platform")): 1,
    }  # fmt: skip
    assert exposition["metrics_auditor_job_sample_limit_usage_ratio"] == {(("job", "api"), ("owner", "team-api")): 0.85}
    assert set(exposition["metrics_auditor_job_unprotected"]) == {(("job", "demo"),), (("job", "churner"),)}
    assert exposition["metrics_auditor_job_budget_exceeded"][(("job", "demo"), ("owner", "team-web"))] == 1
    assert not any("instance" in dict(key) for family in exposition.values() for key in family)

    # Head against active series (2.45+ counts the head): the churner's old series wait for head GC.
    if fleet.prometheus.binary and "3.5" in str(fleet.prometheus.binary):
        head, active = details.jobs.head_active["churny_requests"]
        assert active == 1
        assert head > 1
        assert details.jobs.head_active["api_calls_total"] == (85, 85)
        assert exposition["metrics_auditor_metric_stale_series"][(("metric", "churny_requests"),)] == head - 1
    else:
        assert details.jobs.head_active == {}, "2.42's census counts active series: there is no gap to measure"

    # The metric over budget is attributed to the job that sends it.
    assert details.jobs.attribution == {"web_requests_total": {"demo": 42}}

    store = Store(engine)
    [(_, stored)] = store.job_cycles("jobs")
    assert stored.attribution == {"web_requests_total": {"demo": 42}}
    assert stored.head_active == details.jobs.head_active
    assert stored.jobs["api"] == api
    assert stored.jobs["demo"].largest_targets == demo.largest_targets


GROWTH_BUDGETS = """\
defaults: {owner: platform, max_series: 100000, growth_min_series: 10}
metrics:
  - name: api_calls_total
    owner: team-api
    max_growth: {6h: 0.5}
jobs:
  - match: "ap.*"
    owner: team-api
    max_series: 1000
    max_growth: {6h: 0.5}
"""


def test_growth_of_a_job_and_its_metric_names_the_job_and_forecasts_the_sample_limit(
    fleet: Fleet, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Six hours of stored history in which ``api`` rose by 10 samples an hour to today's real 85 (limit 100)."""
    settings = settings_for(fleet, tmp_path)
    settings.budgets_file.write_text(GROWTH_BUDGETS)
    instant = utc_now()  # both cycles ask Prometheus about the same instant: no clock hour is crossed
    with build_auditor(settings, engine=engine, clock=ClockOf(lambda: instant)) as auditor:
        auditor.run_cycle()  # the real census, whose shape (notion, jobs) the history below copies
        details = auditor.stats.view().details
    assert details is not None
    assert details.jobs is not None
    real = auditor.stats.view().census
    assert real is not None
    now = real.collected_at
    api = details.jobs.jobs["api"]
    history = Store(engine)
    for hours_ago, samples_then in zip(range(6, 0, -1), (25, 35, 45, 55, 65, 75), strict=True):
        at = hour_start(now) - timedelta(hours=hours_ago) + timedelta(minutes=1)
        then = replace(
            api, series=samples_then, largest_targets=(replace(api.largest_targets[0], series=samples_then),)
        )
        census = replace(real, collected_at=at, metrics=real.metrics | {"api_calls_total": samples_then})
        save_census(history, census, "u", 0.1, jobs=replace(details.jobs, jobs={"api": then}))
    with build_auditor(settings, engine=engine, clock=ClockOf(lambda: instant)) as auditor:
        auditor.run_cycle()
        details = auditor.stats.view().details
        exposition = samples(scrape(auditor))
    assert details is not None
    assert details.jobs is not None
    grown = {(f.kind, f.subject): f for f in details.evaluation.findings if f.kind in (Kind.GROWTH, Kind.JOB_GROWTH)}
    assert set(grown) == {(Kind.GROWTH, "api_calls_total"), (Kind.JOB_GROWTH, "api")}
    assert grown[(Kind.JOB_GROWTH, "api")].value == pytest.approx(85 / 25 - 1), "against the hour 6h ago"
    assert grown[(Kind.JOB_GROWTH, "api")].owner == "team-api"
    assert details.jobs.attribution == {"api_calls_total": {"api": 85}}, "a metric that grew is attributed too"
    # +10 samples an hour, 15 left to the limit: 1.5 hours.
    assert details.evaluation.job_limit_seconds == {"api": pytest.approx(5400)}
    eta = exposition["metrics_auditor_job_sample_limit_exhaustion_seconds"]
    assert eta == {(("job", "api"), ("owner", "team-api")): pytest.approx(5400)}
    key = (("job", "api"), ("owner", "team-api"), ("window", "6h"))
    assert exposition["metrics_auditor_job_growth_exceeded"] == {key: 1}

    monkeypatch.setenv("AUDITOR_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("AUDITOR_SOURCE", "jobs")
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(settings.budgets_file))
    assert main(["jobs", "--format", "json"]) == 0
    by_job = {j["job"]: j for j in json.loads(capsys.readouterr().out)["jobs"]}
    assert by_job["api"]["limit_seconds"] == pytest.approx(5400), "the same forecast from the store alone"
    assert by_job["demo"]["limit_seconds"] is None, "no sample_limit"
    assert main(["check", "--format", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    found = {(v["kind"], v["metric"]): v for v in verdict["violations"]}
    assert found[("growth", "api_calls_total")]["jobs"] == [{"job": "api", "series": 85}]
    assert ("job_growth", "api") in found

    since = (instant - timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M:%S")
    assert main(["report", "--since", since, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    [near] = document["jobs"]["near_limit"]
    assert (near["job"], near["limit_seconds"]) == ("api", pytest.approx(5400))
    [fix] = [s for s in document["suggestions"] if s["metric"] == "api_calls_total"]
    assert fix["jobs"] == [{"job": "api", "series": 85}]
    assert main(["report", "--since", since, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "85% of 100; at its rate, reaches it in 1h" in markdown
    assert "Sent by job `api` (85)" in markdown, "the job that sends it is named, with or without a config"


def test_jobs_and_check_commands(
    fleet: Fleet, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    settings = settings_for(fleet, tmp_path)
    monkeypatch.setenv("AUDITOR_PROMETHEUS_URL", fleet.prometheus.url)
    monkeypatch.setenv("AUDITOR_DATABASE_URL", database_url)
    monkeypatch.setenv("AUDITOR_SOURCE", "jobs")
    monkeypatch.setenv("AUDITOR_BUDGETS_FILE", str(settings.budgets_file))
    monkeypatch.setenv("AUDITOR_JOBS__ENABLED", "true")
    monkeypatch.setenv("AUDITOR_AUDIT_INTERVAL", "15s")  # the churn window: room for a loaded machine
    assert main(["db", "upgrade"]) == 0
    assert main(["jobs"]) == 2
    assert "no job census is stored yet" in capsys.readouterr().err
    assert main(["audit", "--format", "json"]) == 0
    small = fleet.web[1].shape()["web_requests_total"]  # the module's servers are shared: grow from where it is
    wait_until(lambda: _query(fleet, 'sum(sum_over_time(scrape_series_added{job="demo"}[15s]))'), lambda n: n == 0,
               what="no churn left from earlier growth")  # fmt: skip
    fleet.web[1].set("web_requests_total", small + 3)
    wait_until(
        lambda: _query(fleet, 'sum(scrape_samples_post_metric_relabeling{job="demo"})'),
        lambda n: n == 30 + small + 3,
        what="the demo job's new size",
    )
    assert main(["audit", "--format", "json"]) == 0
    capsys.readouterr()

    assert main(["jobs", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    by_job = {j["job"]: j for j in document["jobs"]}
    assert [j["job"] for j in document["jobs"]] == ["api", "demo", "churner"]
    assert by_job["demo"]["series"] == 30 + small + 3
    assert by_job["demo"]["change"] == 3
    # the three new series were created within the churn window (5s): they count as series added
    grown = {"instance": fleet.web[1].target, "series": small + 3, "series_added": 3}
    assert by_job["demo"]["largest_targets"][1] == grown
    assert by_job["api"]["limits"]["sample_limit"] == 100
    assert by_job["api"]["limit_usage"] == 0.85
    assert by_job["churner"]["limit_usage"] is None
    # the churner creates series between the head read and the active count: active may pass head, never stale < 0
    assert all(row["stale"] == max(0, row["head"] - row["active"]) for row in document["stale_series"])

    assert main(["jobs"]) == 0
    table = capsys.readouterr().out
    assert "85%" in table
    assert f"{fleet.web[0].target} (30)" in table

    since = (utc_now() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S")
    assert main(["report", "--since", since, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    section = document["jobs"]
    [sent] = [v for v in document["budget_violations"] if v["kind"] == "series"]
    assert sent["jobs"] == [{"job": "demo", "series": 30 + small + 3}]
    demo_row = next(r for r in section["growth"] if r["job"] == "demo")
    assert (demo_row["series_start"], demo_row["series_end"]) == (30 + small, 30 + small + 3)
    assert demo_row["top_targets"][0] == {"instance": fleet.web[0].target, "series": 30}
    assert [(r["job"], r["samples"], r["sample_limit"]) for r in section["near_limit"]] == [("api", 85, 100)]
    assert {r["job"] for r in section["unprotected"]} == {"demo", "churner"}
    assert main(["report", "--since", since, "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "series, sent by job `demo`" in markdown
    assert "## Scrape jobs" in markdown
    assert f"- `api` (team-api): `{fleet.api.target}` keeps 85 samples, 85% of 100" in markdown
    assert main(["report", "--since", since, "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert "<h2>Scrape jobs</h2>" in html
    assert f"sent by job <code>demo</code> ({30 + small + 3})" in html, "the violations table names the sender"
    assert main(["report", "--since", since, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    by_scope = {(r["scope"], r["metric"] or r["jobs"]): r for r in rows}
    assert by_scope[("metric", "web_requests_total")]["jobs"] == f"demo ({30 + small + 3})"
    api_row = by_scope[("job", "api")]
    assert (api_row["owner"], api_row["series_end"], api_row["sample_limit"], api_row["limit_usage"]) == (
        "team-api",
        "85",
        "100",
        "0.85",
    )
    assert by_scope[("job", "demo")]["violations"] == "job", "over its budget (unprotected is a warning)"
    assert {r["jobs"] for r in rows if r["scope"] == "job"} == {"api", "demo", "churner"}

    assert main(["check"]) == 1
    assert f"sent by job: demo ({30 + small + 3})" in capsys.readouterr().out
    assert main(["check", "--format", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    found = {(v["kind"], v["metric"], v["owner"]): v for v in verdict["violations"]}
    assert set(found) == {("job", "demo", "team-web"), ("series", "web_requests_total", "team-web")}
    assert found[("series", "web_requests_total", "team-web")]["jobs"] == [{"job": "demo", "series": 30 + small + 3}]
    assert "jobs" not in found[("job", "demo", "team-web")]
    warnings = {(w["kind"], w["metric"]) for w in verdict["warnings"]}
    assert {("scrape_limit", "api"), ("unprotected_job", "churner"), ("unprotected_job", "demo")} <= warnings


def scrape(auditor: object) -> str:
    from prometheus_client import CollectorRegistry, generate_latest

    from auditor.config.budgets import BudgetsProvider
    from auditor.export.selfmetrics import SelfMetricsCollector

    provider: BudgetsProvider = auditor.budgets  # type: ignore[attr-defined]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SelfMetricsCollector(auditor.stats, provider, export=auditor.settings.export))  # type: ignore[attr-defined]
    return generate_latest(registry).decode()


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _query(fleet: Fleet, query: str) -> int:
    """One number from the server itself, to wait on."""
    import httpx

    answer = httpx.get(f"{fleet.prometheus.url}/api/v1/query", params={"query": query}).json()
    result = answer["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0

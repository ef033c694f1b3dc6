"""The weekly report: the history it reads, and the files it writes.

report = build(gather(store, settings, source, week_period("2026-W47", "UTC"), budgets=budgets))
"""

from __future__ import annotations

import json
import logging
import re
import time as time_module
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import tenacity

from auditor.app.fixes import record_fixes
from auditor.app.remedies import drilled_readers
from auditor.app.usage import dashboards_of, usage_evidence
from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.calendar import WEEK, Period, last_week
from auditor.core.domain import Census, Status, floor_seconds
from auditor.core.errors import DeliveryError
from auditor.core.jobs import JobCensus
from auditor.core.redact import redact, redact_url
from auditor.core.rulesets import RuleSet
from auditor.evaluate.checks.forecast import limit_forecasts
from auditor.evaluate.report import GROWTH_N, TOP_N, ReportInput, RuleVersionChange, build
from auditor.evaluate.report_forward import QUARTER, ForwardInput, QuarterInput
from auditor.evaluate.rules_diff import diff
from auditor.evaluate.targets import forecast_targets
from auditor.export.report_render import SUFFIX, render
from auditor.store import Store, periods

log = logging.getLogger(__name__)


class Poster(Protocol):
    """What posting a report needs of an HTTP client (the one ``auditor.app.wiring.webhook_client`` builds)."""

    def post(self, url: str, *, json: Any) -> httpx.Response: ...


SCHEDULED_FORMATS = ("markdown", "html", "json")


def gather(
    store: Store, settings: Settings, source: str, period: Period, *, budgets: Budgets, owner: str | None = None
) -> ReportInput:
    """Everything the report reads, from the store (and the dashboards directory); no Prometheus."""
    inp = _stored(store, settings, source, period, budgets=budgets, owner=owner)
    readers = drilled_readers(store, settings, inp.last, period.end, rules=inp.loaded_rules, budgets=budgets,
                              drilled=inp.drilldowns)  # fmt: skip
    histograms = store.histograms.newest(source, until=period.end)
    plans = store.plans.all(source)
    return replace(inp, readers=readers, fixes=store.fixes.all(source), histograms=histograms, plans=plans)


def _stored(
    store: Store, settings: Settings, source: str, period: Period, *, budgets: Budgets, owner: str | None
) -> ReportInput:
    first_census, last_census = _ends(store, source, period)
    watched = _watched(first_census.metrics if first_census else {}, last_census.metrics if last_census else {})
    versions, loaded = _rule_changes(store, source, period)
    jobs_last = store.job_census_in(source, period.start, period.end, earliest=False)
    job_hours = _job_hours(store, settings, source, period, jobs=jobs_last, budgets=budgets)
    dashboards = dashboards_of(settings)
    drilled = periods.drilldowns(store, source, watched, period.start, period.end)
    return ReportInput(
        source=source,
        start=period.start,
        end=period.end,
        label=period.label,
        interval=settings.audit_interval,
        budgets=budgets,
        first=first_census,
        last=last_census,
        snapshots=periods.snapshots(store, source, period.start, period.end),
        baseline_heads=_baseline(store, source, period.start),
        trends=_trends(store, last_census, watched, period),
        drilldowns=drilled,
        findings=periods.findings(store, source, period.start, period.end),
        rule_changes=versions,
        loaded_rules=loaded,
        dashboards=dashboards,
        owner=owner,
        jobs_first=store.job_census_in(source, period.start, period.end, earliest=True),
        jobs_last=jobs_last,
        job_limit_seconds=limit_forecasts(jobs_last, job_hours) if jobs_last else {},
        usage=usage_evidence(
            store, settings, last_census, period.end, rules=loaded, budgets=budgets, dashboards=dashboards
        ),
        cost_per_series_month=settings.cost_per_series_month,
        forward=_forward(
            store, settings, source, period, last=last_census, budgets=budgets, jobs=jobs_last, job_hours=job_hours
        ),
        quarter=_quarter(store, source, period, last_census),
    )


def _trends(
    store: Store, last: Census | None, watched: list[str], period: Period
) -> dict[str, list[tuple[float, float]]]:
    """The watched metrics over the period, in 168 buckets (hours for a week) of at least a minute."""
    if last is None:
        return {}
    bucket = max(60.0, (period.end - period.start).total_seconds() / 168)
    until = period.end.timestamp()
    trends = store.trends(last, watched, period.start, bucket)
    return {metric: [p for p in points if p[0] <= until] for metric, points in trends.items()}


def _ends(store: Store, source: str, period: Period) -> tuple[Census | None, Census | None]:
    """The period's first and last stored census."""
    first = store.census_in(source, period.start, period.end, earliest=True)
    last = store.census_in(source, period.start, period.end)
    return (first[1] if first else None), (last[1] if last else None)


def _forward(
    store: Store, settings: Settings, source: str, period: Period, *, last: Census | None, budgets: Budgets,
    jobs: JobCensus | None, job_hours: dict[str, list[tuple[datetime, int, int]]],
) -> ForwardInput | None:  # fmt: skip
    """The forecast's trends as of the period's end: hourly maxima over the forecast window, stored only."""
    if last is None:
        return None
    since = period.end - settings.forecast_window
    trends = store.trends(last, forecast_targets(last, budgets), since)
    cut = period.end.timestamp()
    head: dict[float, float] = {}
    for s in periods.snapshots(store, source, since, period.end):
        if s.status == Status.OK and s.head_series is not None:
            hour = floor_seconds(s.collected_at.timestamp(), 3600)
            head[hour] = max(head.get(hour, 0.0), float(s.head_series))
    trends = {m: [p for p in points if p[0] <= cut] for m, points in trends.items()}
    job_series = {j.job: j.series for j in jobs.jobs.values()} if jobs else {}
    budgeted = {job for job in job_series if budgets.for_job(job) is not None}
    job_trends = {job: [(at.timestamp(), float(n)) for at, n, _ in job_hours.get(job, [])] for job in budgeted}
    return ForwardInput(period.end, budgets, dict(last.metrics), trends, sorted(head.items()), job_series, job_trends)


def _quarter(store: Store, source: str, period: Period, last: Census | None) -> QuarterInput:
    """The same period 13 weeks earlier (its rollups once its raw rows are gone) and the findings since."""
    start, end = period.start - QUARTER, period.end - QUARTER
    earlier = store.census_in(source, start, end)
    findings = periods.findings(store, source, start, period.end)
    snapshots = periods.snapshots(store, source, start, end)
    return QuarterInput(start, end, earlier[1] if earlier else None, last, snapshots, findings)


def _job_hours(
    store: Store, settings: Settings, source: str, period: Period, *, jobs: JobCensus | None, budgets: Budgets
) -> dict[str, list[tuple[datetime, int, int]]]:
    """The jobs' hourly maxima over the forecast window before the period's end, read once for both forecasts
    (to the ``sample_limit`` and to the ``jobs:`` budget); nothing is read when no job has either."""
    wanted = jobs is not None and any(j.sample_limit or budgets.for_job(j.job) for j in jobs.jobs.values())
    if not wanted:
        return {}
    hours = store.job_hours(source, period.end - settings.forecast_window)
    return {job: [h for h in points if h[0] <= period.end] for job, points in hours.items()}


def _watched(start: dict[str, int], end: dict[str, int]) -> list[str]:
    """The metrics whose trend and drill-downs the report shows: the largest, and those that grew most."""
    top = sorted(end, key=lambda m: -end[m])[:TOP_N]
    grown = sorted(end, key=lambda m: -(end[m] - start.get(m, end[m])))[: GROWTH_N * 2]
    return list(dict.fromkeys([*top, *grown]))


def _baseline(store: Store, source: str, start: datetime) -> list[int]:
    heads = [periods.last_head(store, source, start - k * WEEK, start - (k - 1) * WEEK) for k in range(1, 5)]
    return [h for h in heads if h is not None]


def _rule_changes(store: Store, source: str, period: Period) -> tuple[list[RuleVersionChange], RuleSet | None]:
    """Versions that went live in the period, each against the one before; and the set loaded at its end."""
    versions = [v for v in store.rule_versions(source) if v.first_seen <= period.end]
    sets: dict[int, RuleSet] = {}

    def ruleset(version_id: int) -> RuleSet:
        if version_id not in sets:
            found = store.rule_version(version_id)
            sets[version_id] = found[1] if found else RuleSet(())
        return sets[version_id]

    changes = []
    for previous, version in zip([None, *versions], versions, strict=False):
        if version.first_seen < period.start:
            continue
        result = diff(ruleset(previous.id) if previous else RuleSet(()), ruleset(version.id))
        changes.append(
            RuleVersionChange(
                version.id, version.first_seen, version.fingerprint,
                [r.name for r in result.added], [r.name for r in result.removed], [c.new.name for c in result.changed],
            )
        )  # fmt: skip
    return changes, (ruleset(versions[-1].id) if versions else None)


def report_files(report_dir: Path, source: str, label: str) -> dict[str, Path]:
    """Where the scheduled report of ``label`` goes, one file per format."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("_") or "source"
    return {fmt: report_dir / f"metrics-auditor-{slug}-{label}.{SUFFIX[fmt]}" for fmt in SCHEDULED_FORMATS}


def write_scheduled(
    store: Store,
    settings: Settings,
    source: str,
    period: Period,
    budgets: Budgets,
    *,
    webhook: Poster | None = None,
    generated: datetime | None = None,
) -> dict[str, Path]:
    """Write the period's report in every scheduled format; POST it to the webhook when one is set.

    The files are written first: a webhook that fails (after retries) raises ``DeliveryError``, the
    files stay.
    """
    report = build(gather(store, settings, source, period, budgets=budgets))
    record_fixes(store, settings, report, generated or period.end)
    files = report_files(settings.report_dir, source, period.label)
    settings.report_dir.mkdir(parents=True, exist_ok=True)
    texts = {fmt: render(report, fmt, generated) for fmt in files}
    for fmt, path in files.items():
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(texts[fmt], encoding="utf-8")
        temporary.replace(path)  # readers never see half a report
    log.info("weekly report for %s written: %s", period.label, files["html"])
    if settings.report_webhook_url:
        payload = {"text": texts["markdown"], "report": json.loads(texts["json"])}
        if webhook is not None:
            post_report(webhook, settings.report_webhook_url, payload)
        else:
            from auditor.app.wiring import webhook_client

            with webhook_client() as own:  # no daemon's client at hand: one for this post, closed after
                post_report(own, settings.report_webhook_url, payload)
    return files


def post_report(
    http: Poster,
    url: str,
    payload: dict[str, object],
    *,
    attempts: int = 3,
    sleep: Callable[[float], None] = time_module.sleep,
) -> None:
    """POST with retries (connection errors, 429 and 5xx; exponential backoff); ``DeliveryError`` at the end."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(multiplier=1, max=10),
        retry=tenacity.retry_if_exception(_retriable),
        reraise=True,
        sleep=sleep,
    )
    try:
        for attempt in retrying:
            with attempt:
                http.post(url, json=payload).raise_for_status()
    except httpx.HTTPError as exc:
        where = redact_url(url, keep_path=False)
        raise DeliveryError(f"report webhook {where} failed: {_failure(exc, url)}") from None


def _failure(exc: httpx.HTTPError, url: str) -> str:
    """What went wrong, without httpx's message: it repeats the whole URL, whose path is a Slack webhook's secret."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return redact(f"{type(exc).__name__}: {exc}", urls=[url])


def _retriable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError)


def report_source(store: Store, settings: Settings, known: str | None) -> str | None:
    """The source a scheduled report is about, from the settings or the store: a report never asks Prometheus."""
    if settings.source is not None:
        return settings.source
    if known is not None:
        return known
    sources = store.sources()
    return sources[0] if len(sources) == 1 else None


def missed(settings: Settings, source: str, now: datetime, schedule_fire: datetime | None) -> Period | None:
    """Last week's report, when its run is due (or past) and its file is missing: made up at start."""
    period = last_week(now, settings.timezone)
    if schedule_fire is None or schedule_fire > now:
        return None
    return None if report_files(settings.report_dir, source, period.label)["html"].exists() else period

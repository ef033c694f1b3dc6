"""What ``plan`` reads before it judges (docs/plan.md): the exposition, the job's relabeling, its targets, and as
much of the audited server as can be reached. In CI there is often neither a database nor a Prometheus: the
plan then judges the exposition against the budgets alone, and says what it did not know.

    inp = plan_input(settings, PlanRequest("metrics.txt", job="api", targets=40, relabel=Path("relabel.yml")), at)
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import make_url

from auditor.app import wiring
from auditor.collect.exposition import scrape_exposition
from auditor.config.files import read_text
from auditor.config.relabel import relabel_rules
from auditor.config.settings import Settings
from auditor.config.yamlfile import parse_yaml
from auditor.core.budgets import Budgets
from auditor.core.errors import AuditorError, ConfigError
from auditor.core.exposition import Exposition, parse_exposition
from auditor.core.jobs import JobStats
from auditor.core.promql import name_selector, string, with_matchers
from auditor.core.relabel import Rule
from auditor.evaluate.plan import PlanInput

log = logging.getLogger(__name__)
LABELS_ASKED = 50
"""Metrics whose label names are asked of Prometheus (one request each): the new labels of the others are not told."""


@dataclass(frozen=True)
class PlanRequest:
    exposition: str
    job: str | None = None
    targets: int | None = None
    relabel: Path | None = None


@dataclass(frozen=True)
class Known:
    """What the audited server said, as far as it could be reached."""

    census: dict[str, int]
    job: JobStats | None
    notes: list[str]
    """What could not be read (no database, no Prometheus), and what was done (recorded): printed with the plan."""


def plan_input(settings: Settings, request: PlanRequest, budgets: Budgets, at: datetime) -> tuple[PlanInput, Known]:
    exposition = read_exposition(settings, request.exposition)
    job = request.job or "plan"
    known = _stored(settings, job)
    rules, configured = _rules(settings, request, job, known)
    targets = request.targets or (known.job.targets if known.job else 1)
    sample_limit = configured if configured is not None else (known.job.sample_limit if known.job else None)
    now, labels_now = _job_now(settings, request.job, {s["__name__"] for s in exposition.series}, at, known)
    inp = PlanInput(exposition, rules, job, targets, _instance(request.exposition), budgets, at, now=now,
                    labels_now=labels_now, census=known.census, sample_limit=sample_limit or None)  # fmt: skip
    return inp, known


def _job_now(
    settings: Settings, job: str | None, metrics: set[str], at: datetime, known: Known
) -> tuple[dict[str, int] | None, dict[str, set[str]]]:
    """The job's series of each metric now, and the label names of the exposition's metrics in it (the first
    ``LABELS_ASKED``), from the audited Prometheus; (None, {}) without ``--job`` or a reachable server."""
    if job is None:
        return None, {}
    matcher = f"job={string(job)}"
    try:
        with ExitStack() as stack:
            client = wiring.prometheus_client(stack, settings, command=True)
            rows = client.query_vector(f"count by (__name__) ({{{matcher}}})", at)
            labels = {m: set(client.label_names([with_matchers(name_selector(m), matcher)]))
                      for m in sorted(metrics)[:LABELS_ASKED]}  # fmt: skip
    except AuditorError as exc:
        known.notes.append(f"the job's series now were not read from Prometheus ({exc})")
        return None, {}
    return {r.get("__name__", ""): int(v) for r, v in rows}, labels


def read_exposition(settings: Settings, location: str) -> Exposition:
    if location.startswith(("http://", "https://")):
        with wiring.exposition_client(settings) as http:
            text, openmetrics = scrape_exposition(location, http, settings.prometheus.max_response_bytes)
        return parse_exposition(text, location, openmetrics=openmetrics)
    text = read_text(Path(location), ConfigError, what="exposition")
    return parse_exposition(text, location, openmetrics=text.rstrip().endswith("# EOF"))


def _instance(location: str) -> str:
    """What the scrape of this exposition would get as ``instance``: the URL's host and port."""
    parts = urlsplit(location)
    return parts.netloc or "localhost:9100"


def _stored(settings: Settings, job: str) -> Known:
    unknown: list[str] = []
    census: dict[str, int] = {}
    stats = None
    url = make_url(settings.database_url.get_secret_value())
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        # SQLite would create an empty file where CI runs plan: nothing is stored there
        return Known({}, None, ["no stored census (no database): new metrics and other jobs' series are not known"])
    try:
        with ExitStack() as stack:
            store = wiring.open_store(stack, settings)
            source = settings.source or next(iter(store.sources()), None)
            latest = store.latest_census(source) if source else None
            census = dict(latest[1].metrics) if latest else {}
            cycles = store.job_cycles(source, 1) if source else []
            stats = cycles[0][1].jobs.get(job) if cycles else None
    except AuditorError as exc:
        unknown.append(f"no stored census ({exc}): new metrics and other jobs' series are not known")
    return Known(census, stats, unknown)


Relabeling = tuple[list[Rule], int | None]
"""The job's rules, and its ``sample_limit`` where the scrape job says it."""


def _rules(settings: Settings, request: PlanRequest, job: str, known: Known) -> Relabeling:
    if request.relabel is not None:
        return relabel_file(request.relabel, job if request.job else None)
    if request.job is None:
        return [], None
    try:
        with ExitStack() as stack:
            config = wiring.prometheus_client(stack, settings, command=True).configuration()
    except AuditorError as exc:
        known.notes.append(f"the job's relabeling was not read from Prometheus ({exc}): none applied")
        return [], None
    return _of_job(_job_config(config, job, "/api/v1/status/config"), f"/api/v1/status/config: job {job}")


def relabel_file(path: Path, job: str | None) -> Relabeling:
    """A list of rules, a scrape job, or a whole Prometheus configuration (which needs ``--job``)."""
    data = parse_yaml(read_text(path, ConfigError, what="relabel file"), path).data
    if isinstance(data, list):
        return relabel_rules(data, str(path)), None
    if isinstance(data, dict) and "scrape_configs" in data:
        if job is None:
            raise ConfigError(f"{path}: a whole Prometheus configuration: name the scrape job with --job")
        return _of_job(_job_config(data, job, str(path)), f"{path}: job {job}")
    if isinstance(data, dict):
        return _of_job(data, str(path))
    raise ConfigError(f"{path}: expected metric_relabel_configs (a list), a scrape job or a Prometheus configuration")


def _of_job(scrape: dict[str, Any], where: str) -> Relabeling:
    limit = scrape.get("sample_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ConfigError(f"{where}: sample_limit must be a whole number")
    return relabel_rules(scrape.get("metric_relabel_configs"), where), limit


def _job_config(config: dict[str, Any], job: str, where: str) -> dict[str, Any]:
    for scrape in config.get("scrape_configs") or []:
        if isinstance(scrape, dict) and scrape.get("job_name") == job:
            return scrape
    names = [s.get("job_name") for s in config.get("scrape_configs") or [] if isinstance(s, dict)]
    raise ConfigError(f"{where}: no scrape job {job!r}; its jobs: {', '.join(map(str, names)) or 'none'}")


def record_plan(settings: Settings, job: str, predicted: dict[str, int], at: datetime) -> str:
    """``plan --record``: the prediction stored for the cycles after the deploy to measure; the source it went to."""
    with ExitStack() as stack:
        store = wiring.open_store(stack, settings)
        sources = store.sources()
        source = settings.source or (sources[0] if len(sources) == 1 else None)
        if source is None:
            raise ConfigError("--record: set AUDITOR_SOURCE to the audited Prometheus the job is scraped by"
                              f" (stored sources: {', '.join(sources) or 'none'})")  # fmt: skip
        store.plans.record(source, settings.prometheus_url_for_logs, job, predicted, at)
    return source

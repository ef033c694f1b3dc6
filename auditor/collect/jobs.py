"""Per-job and per-target census from the series Prometheus writes for every target it scrapes.

Five instant queries, each over one series per target (never over the data), and the configuration
for the limits:

    sum by (job) (scrape_samples_post_metric_relabeling)                      series per job
    count by (job) (up)                                                        targets per job
    sum by (job) (sum_over_time(scrape_series_added[INTERVAL]))                churn per job
    topk by (job) (N, scrape_samples_post_metric_relabeling)                   largest targets
    topk by (job) (N, sum_over_time(scrape_series_added[INTERVAL]))            churning targets

Output is bounded: the N largest targets per job, and at most ``max_jobs`` jobs (the largest).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from auditor.collect.bounds import JobsBounds
from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.core.durations import format_duration
from auditor.core.errors import PrometheusResponseError
from auditor.core.jobs import LIMITS, JobCensus, JobStats, TargetStats
from auditor.core.promql import name_selector, quote_meta, string

SAMPLES = "scrape_samples_post_metric_relabeling"
ADDED = "scrape_series_added"
_SIZE = re.compile(r"(\d+)\s*([KMGTPE]?i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "kb": 2**10, "kib": 2**10, "mb": 2**20, "mib": 2**20, "gb": 2**30, "gib": 2**30,
          "tb": 2**40, "tib": 2**40, "pb": 2**50, "pib": 2**50, "eb": 2**60, "eib": 2**60}  # fmt: skip
"""Prometheus' ``body_size_limit`` units are powers of two, whatever their spelling."""

Vector = list[tuple[dict[str, str], float]]


class JobCollector:
    def __init__(
        self, client: PrometheusClient, settings: JobsBounds, endpoints: OptionalEndpoints | None = None
    ) -> None:
        self._client = client
        self._settings = settings
        self._endpoints = endpoints or OptionalEndpoints()

    def collect(self, at: datetime, interval: timedelta) -> JobCensus | None:
        """The jobs at ``at``, churn over ``interval``; None when Prometheus cannot answer (the cycle goes on)."""
        if not self._settings.enabled:
            return None
        window = format_duration(max(interval, timedelta(seconds=1)))
        top = self._settings.top_targets
        queries = {
            "series": f"sum by (job) ({SAMPLES})",
            "targets": "count by (job) (up)",
            "added": f"sum by (job) (sum_over_time({ADDED}[{window}]))",
            "largest": f"topk by (job) ({top}, {SAMPLES})",
            "churning": f"topk by (job) ({top}, sum_over_time({ADDED}[{window}]))",
        }
        answers: dict[str, Vector] = {}
        for key, query in queries.items():
            if key in ("largest", "churning") and top == 0:
                answers[key] = []
                continue
            answer = self._endpoints.call("/api/v1/query", _query(self._client, query, at), "the job census")
            if answer is None:
                return None
            answers[key] = answer
        limits = self._endpoints.call("/api/v1/status/config", self._limits, "the job limits")
        return _census(answers, limits, self._settings)

    def attribute(self, metrics: list[str], at: datetime) -> dict[str, dict[str, int]]:
        """metric -> its largest jobs -> series (one query per metric, ``max_attributed`` metrics at most)."""
        out: dict[str, dict[str, int]] = {}
        top = max(1, self._settings.top_targets)
        for metric in metrics[: self._settings.max_attributed]:
            query = f"topk({top}, count by (job) ({name_selector(metric)}))"
            answer = self._endpoints.call("/api/v1/query", _query(self._client, query, at), "the attribution to jobs")
            if answer is None:
                break
            out[metric] = {labels.get("job", ""): int(value) for labels, value in answer}
        return out

    def active(self, metrics: list[str], at: datetime) -> dict[str, int]:
        """metric -> series with a sample in the last lookback (one query for all of ``metrics``)."""
        if not metrics:
            return {}
        regex = string("|".join(quote_meta(m) for m in metrics))
        query = f"count by (__name__) ({{__name__=~{regex}}})"
        answer = self._endpoints.call("/api/v1/query", _query(self._client, query, at), "the stale-series gap")
        return {} if answer is None else {labels.get("__name__", ""): int(value) for labels, value in answer}

    def _limits(self) -> dict[str, dict[str, int]]:
        try:
            return job_limits(self._client.configuration())
        except ValueError as exc:
            raise PrometheusResponseError(f"/api/v1/status/config: {exc}") from exc


def _query(client: PrometheusClient, query: str, at: datetime) -> Callable[[], Vector]:
    return lambda: client.query_vector(query, at)


def _census(answers: dict[str, Vector], limits: dict[str, dict[str, int]] | None, settings: JobsBounds) -> JobCensus:
    """Bounded whatever the server answers: ``top_targets`` per job, ``max_jobs`` jobs (the largest)."""
    max_jobs = settings.max_jobs
    by_job = {key: _per_job(vector) for key, vector in answers.items() if key in ("series", "targets", "added")}
    targets = _targets(answers["largest"], answers["churning"])
    names = set(by_job["series"]) | set(by_job["targets"])
    ranked = sorted(names, key=lambda job: (-by_job["series"].get(job, 0), job))
    jobs = {
        job: JobStats(
            job,
            by_job["series"].get(job, 0),
            by_job["targets"].get(job, 0),
            by_job["added"].get(job, 0),
            tuple(sorted(targets.get(job, {}).values(), key=lambda t: (-t.series, t.instance))[: settings.top_targets]),
            None if limits is None else limits.get(job, limits.get("", {})),
        )
        for job in ranked[:max_jobs]
    }
    return JobCensus(jobs, max(0, len(ranked) - max_jobs), limits is not None)


def _per_job(vector: Vector) -> dict[str, int]:
    return {labels.get("job", ""): int(value) for labels, value in vector}


def _targets(largest: Vector, churning: Vector) -> dict[str, dict[str, TargetStats]]:
    out: dict[str, dict[str, TargetStats]] = {}
    for labels, value in largest:
        job, instance = labels.get("job", ""), labels.get("instance", "")
        out.setdefault(job, {})[instance] = TargetStats(instance, int(value))
    for labels, value in churning:
        job, instance = labels.get("job", ""), labels.get("instance", "")
        known = out.setdefault(job, {}).get(instance, TargetStats(instance, 0))
        out[job][instance] = TargetStats(instance, known.series, int(value))
    return out


def job_limits(config: dict[str, Any]) -> dict[str, dict[str, int]]:
    """job -> limit -> value in force (the job's, else the global default); key "" holds the globals.

    Raises ``ValueError`` on a shape that is not Prometheus' configuration.
    """
    global_ = config.get("global") or {}
    jobs = config.get("scrape_configs") or []
    if not isinstance(global_, dict) or not isinstance(jobs, list):
        raise ValueError("`global` or `scrape_configs` has an unexpected shape")
    defaults = {name: _limit(global_.get(name)) for name in LIMITS}
    out = {"": defaults}
    for job in jobs:
        if not isinstance(job, dict) or not isinstance(job.get("job_name"), str):
            raise ValueError("a scrape config without a `job_name`")
        out[job["job_name"]] = {name: _limit(job.get(name)) or defaults[name] for name in LIMITS}
    return out


def _limit(value: object) -> int:
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(0, value)
    match = _SIZE.fullmatch(str(value).strip())
    if match is None:
        raise ValueError(f"limit {value!r} is neither a count nor a size")
    return int(match.group(1)) * _UNITS[(match.group(2) or "").lower()]

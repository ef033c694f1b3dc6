"""The families of the daemon's background work: scheduled jobs and configuration reloads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from auditor.export.families import PREFIX

BACKGROUND_JOBS = ("compaction", "report")
RESULTS = ("success", "failure")


@dataclass(frozen=True, slots=True)
class JobRunsView:
    runs: Mapping[tuple[str, str], int]
    """(job, result) -> runs since start."""
    last_failed: Mapping[str, bool]


@dataclass(frozen=True, slots=True)
class ReloadsView:
    runs: Mapping[str, int]
    """result -> reloads since start."""
    last_ok: bool


def job_run_families(view: JobRunsView) -> Iterator[Metric]:
    total = CounterMetricFamily(
        PREFIX + "background_job_runs", "Runs of the background jobs (compaction, report), by result.",
        labels=["job", "result"],
    )  # fmt: skip
    failed = GaugeMetricFamily(
        PREFIX + "background_job_last_run_failed",
        "1 while the last run of the job failed (until one succeeds), else 0.",
        labels=["job"],
    )
    for job in BACKGROUND_JOBS:
        for result in RESULTS:
            total.add_metric([job, result], view.runs.get((job, result), 0))
        failed.add_metric([job], int(view.last_failed.get(job, False)))
    yield total
    yield failed


def reload_families(view: ReloadsView) -> Iterator[Metric]:
    reloads = CounterMetricFamily(
        PREFIX + "config_reloads", "Configuration reloads on SIGHUP, by result.", labels=["result"]
    )
    for result in RESULTS:
        reloads.add_metric([result], view.runs.get(result, 0))
    yield reloads
    yield GaugeMetricFamily(
        PREFIX + "config_last_reload_successful",
        "1 if the last configuration reload worked (or none was asked for), 0 if the last good one stays.",
        value=int(view.last_ok),
    )

"""Self-metrics of the job census: one series per job (never per target), bounded by AUDITOR_JOBS__MAX_JOBS."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import Metric

from auditor.core.budgets import Budgets
from auditor.core.durations import format_duration
from auditor.core.findings import Finding
from auditor.core.job_findings import JobGrowthFinding
from auditor.core.jobs import JobCensus
from auditor.export.families import gauge


def job_families(
    census: JobCensus,
    budgets: Budgets,
    findings: tuple[Finding, ...] = (),
    limit_seconds: dict[str, float] | None = None,
) -> Iterator[Metric]:
    yield from _sizes(census, budgets)
    yield from _limits(census, budgets, limit_seconds or {})
    yield from _budgets(census, budgets, findings)
    yield from _metrics(census, budgets)


def _sizes(census: JobCensus, budgets: Budgets) -> Iterator[Metric]:
    jobs = list(census.jobs.values())
    owner = {j.job: budgets.job_owner(j.job) for j in jobs}
    yield gauge("job_series", "Samples the job's targets keep per scrape, summed (about its series).",
                {(j.job, owner[j.job]): j.series for j in jobs}, ["job", "owner"])  # fmt: skip
    yield gauge("job_targets", "Targets of the job.", {(j.job,): j.targets for j in jobs}, ["job"])
    yield gauge("job_series_added", "Series the job's targets created over the last audit interval (churn).",
                {(j.job,): j.series_added for j in jobs}, ["job"])  # fmt: skip
    yield gauge("job_largest_target_samples", "Samples of the job's largest target in its last scrape.",
                {(j.job,): j.largest_target_series for j in jobs}, ["job"])  # fmt: skip


def _limits(census: JobCensus, budgets: Budgets, limit_seconds: dict[str, float]) -> Iterator[Metric]:
    jobs = list(census.jobs.values())
    owner = {j.job: budgets.job_owner(j.job) for j in jobs}
    limited = [j for j in jobs if j.sample_limit]
    yield gauge("job_sample_limit", "The job's sample_limit in force (absent: none, or configuration unknown).",
                {(j.job,): j.sample_limit or 0 for j in limited}, ["job"])  # fmt: skip
    yield gauge("job_sample_limit_usage_ratio", "The largest target's samples over the job's sample_limit.",
                {(j.job, owner[j.job]): j.limit_usage or 0.0 for j in limited}, ["job", "owner"])  # fmt: skip
    yield gauge("job_unprotected", "1 if the job has targets and no sample_limit.",
                {(j.job,): 1 for j in jobs if j.sample_limit == 0 and j.targets}, ["job"])  # fmt: skip
    eta: dict[tuple[str, ...], float] = {
        (job, owner[job]): seconds for job, seconds in limit_seconds.items() if job in census.jobs
    }
    yield gauge("job_sample_limit_exhaustion_seconds",
                "Forecast time until the job's largest target reaches its sample_limit (absent when not rising).",
                eta, ["job", "owner"])  # fmt: skip


def _budgets(census: JobCensus, budgets: Budgets, findings: tuple[Finding, ...]) -> Iterator[Metric]:
    jobs = list(census.jobs.values())
    budgeted = [(j, b) for j in jobs if (b := budgets.for_job(j.job)) is not None]
    yield gauge("job_budget_max_series", "Series budget of the job (jobs: in the budgets file).",
                {(j.job, b.owner): b.max_series for j, b in budgeted}, ["job", "owner"])  # fmt: skip
    yield gauge("job_budget_exceeded", "1 if the job sends more series than its budget.",
                {(j.job, b.owner): int(j.series > b.max_series) for j, b in budgeted}, ["job", "owner"])  # fmt: skip
    yield from _growth([f for f in findings if isinstance(f, JobGrowthFinding)])


def _metrics(census: JobCensus, budgets: Budgets) -> Iterator[Metric]:
    """Which jobs send the offenders' series, stale head series, and what the job census left out."""
    sent: dict[tuple[str, ...], float] = {
        (metric, budgets.for_metric(metric).owner, job): n for metric, by_job in census.attribution.items()
        for job, n in by_job.items()
    }  # fmt: skip
    yield gauge("metric_job_series", "Series of a metric over budget that one job sends (its largest jobs).",
                sent, ["metric", "owner", "job"])  # fmt: skip
    stale: dict[tuple[str, ...], float] = {(m,): max(0, h - a) for m, (h, a) in census.head_active.items()}
    yield gauge(
        "metric_stale_series", "Head series of the metric without a recent sample (until head GC).", stale, ["metric"]
    )
    yield gauge(
        "jobs_truncated", "Jobs left out of the last job census (AUDITOR_JOBS__MAX_JOBS).", {(): census.truncated}
    )


def _growth(growth: list[JobGrowthFinding]) -> Iterator[Metric]:
    key = {f: (f.job, f.owner, format_duration(f.over)) for f in growth}
    labels = ["job", "owner", "window"]
    yield gauge("job_growth_ratio", "Growth over the window, for jobs past their growth limit.",
                {key[f]: f.growth for f in growth}, labels)  # fmt: skip
    yield gauge("job_growth_exceeded", "1 while a job grows faster than its jobs: entry allows.",
                {key[f]: 1 for f in growth}, labels)  # fmt: skip

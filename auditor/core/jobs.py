"""Scrape jobs and their targets, as Prometheus' own per-target series describe them (docs/cli.md ``jobs``).

Prometheus writes, for every target it scrapes, ``up``, ``scrape_samples_post_metric_relabeling`` (the
samples it keeps per scrape: close to the target's series) and ``scrape_series_added`` (series created
per scrape: churn). Their sums per job are the job's figures; no data is scanned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LIMITS = (
    "sample_limit",
    "label_limit",
    "label_name_length_limit",
    "label_value_length_limit",
    "body_size_limit",
    "target_limit",
)
"""The per-scrape-pool limits of ``scrape_configs`` (0 or absent: none)."""


@dataclass(frozen=True, slots=True)
class TargetStats:
    instance: str
    series: int
    """Samples kept in its last scrape (``scrape_samples_post_metric_relabeling``)."""
    series_added: int = 0
    """Series it created over the audit interval (``scrape_series_added``)."""


@dataclass(frozen=True, slots=True)
class JobStats:
    job: str
    series: int
    targets: int
    series_added: int
    largest_targets: tuple[TargetStats, ...] = ()
    """The targets with most samples, largest first (bounded: AUDITOR_JOBS__TOP_TARGETS)."""
    limits: dict[str, int] | None = None
    """Configured limits in force (job value, else the global one); None when the configuration is unknown."""

    @property
    def sample_limit(self) -> int | None:
        """The job's ``sample_limit``; 0 means none, None means the configuration could not be read."""
        return None if self.limits is None else self.limits.get("sample_limit", 0)

    @property
    def largest_target_series(self) -> int:
        return self.largest_targets[0].series if self.largest_targets else 0

    @property
    def limit_usage(self) -> float | None:
        """The largest target's samples over the ``sample_limit``; None when the job has none."""
        limit = self.sample_limit
        return self.largest_target_series / limit if limit else None


@dataclass(frozen=True)
class JobCensus:
    jobs: dict[str, JobStats] = field(default_factory=dict)
    truncated: int = 0
    """Jobs left out by AUDITOR_JOBS__MAX_JOBS (the smallest)."""
    config_known: bool = True
    attribution: dict[str, dict[str, int]] = field(default_factory=dict)
    """metric -> job -> series, for the metrics over budget this cycle: which job sends them."""
    head_active: dict[str, tuple[int, int]] = field(default_factory=dict)
    """metric -> (head series, active series) for the largest metrics counted in the head: the gap is the
    stale series waiting for the next head GC (churn that already happened)."""

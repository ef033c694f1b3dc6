"""Which metrics are read, and which are not: the query log's reads, rules and dashboards, per metric.

    verdicts = judge(UsageInput(census_series, reads, last_reads, coverage, unused_after, rules, dashboards), budgets)

A metric is **used** when an API query or a rule evaluation read it within ``unused_after``, or a
dashboard panel or a desired rule reads it (the reason says which). It is **unused** when none did and
the query log covers the whole window; while the log covers less (a fresh install, no log at all), it is
**unknown**: never call a metric unused on evidence the auditor does not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from auditor.core.budgets import Budgets
from auditor.core.usage import MetricReads

SCRAPE_SERIES = frozenset({
    "up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling",
    "scrape_series_added", "scrape_timeout_seconds", "scrape_sample_limit", "scrape_body_size_bytes",
})  # fmt: skip
"""Series Prometheus writes itself for every target: target health, which no relabeling of the scrape drops."""


class Status(StrEnum):
    USED = "used"
    UNUSED = "unused"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class UsageInput:
    series: dict[str, int]
    """metric -> series now (the census)."""
    reads: dict[str, MetricReads]
    """metric -> its reads within the window, from the query log."""
    last_reads: dict[str, datetime]
    """metric -> the last read ever stored (it may be older than the window)."""
    coverage: timedelta | None
    """How much of the window the query log covers; None without a query log."""
    unused_after: timedelta
    rules: dict[str, list[str]] = field(default_factory=dict)
    """metric -> the desired or loaded rules that read it (``group/name``)."""
    dashboards: dict[str, list[str]] | None = None
    """metric -> dashboards whose panels query it; None when no dashboards are configured."""


@dataclass(frozen=True, slots=True)
class Verdict:
    metric: str
    owner: str
    series: int
    status: Status
    reads: MetricReads
    last_read: datetime | None
    readers: tuple[str, ...]
    """The evidence: ``api: 120 queries``, ``rule: 2880 evaluations``, ``rule file: g/r``, ``dashboard: Title``."""


def judge(inp: UsageInput, budgets: Budgets) -> list[Verdict]:
    """A verdict per metric of the census, largest first."""
    known = inp.coverage is not None and inp.coverage >= inp.unused_after
    out = []
    for metric, series in sorted(inp.series.items(), key=lambda kv: (-kv[1], kv[0])):
        reads = inp.reads.get(metric, MetricReads())
        readers = _readers(inp, metric, reads)
        status = Status.USED if readers else Status.UNUSED if known else Status.UNKNOWN
        out.append(Verdict(metric, budgets.for_metric(metric).owner, series, status, reads,
                           inp.last_reads.get(metric), tuple(readers)))  # fmt: skip
    return out


def _readers(inp: UsageInput, metric: str, reads: MetricReads) -> list[str]:
    found = ["prometheus: per-target scrape series"] if metric in SCRAPE_SERIES else []
    if reads.api:
        found.append(f"api: {reads.api:,} queries")
    if reads.rule:
        found.append(f"rule: {reads.rule:,} evaluations")
    found += [f"rule file: {rule}" for rule in inp.rules.get(metric, [])]
    found += [f"dashboard: {title}" for title in (inp.dashboards or {}).get(metric, [])]
    return found


def coverage(covered_since: datetime | None, now: datetime, window: timedelta) -> timedelta | None:
    """How much of the window ending ``now`` the log covers (capped at the window); None without a log."""
    if covered_since is None:
        return None
    return min(window, max(timedelta(0), now - covered_since))


@dataclass(frozen=True)
class UsageSummary:
    """What the self-metrics say about usage: the reader's progress, and the unused metrics per owner."""

    lines: int = 0
    own_lines: int = 0
    failures: int = 0
    behind_bytes: int = 0
    lag_seconds: float | None = None
    """From the newest query read to the read itself."""
    coverage_seconds: float = 0.0
    unused: dict[str, tuple[int, int]] = field(default_factory=dict)
    """owner -> (unused metrics, their series); empty while usage is unknown."""
    skipped: dict[str, int] = field(default_factory=dict)
    """Lines passed over since the daemon started, by reason."""


def unused_by_owner(verdicts: list[Verdict]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for v in verdicts:
        if v.status is Status.UNUSED:
            metrics, series = out.get(v.owner, (0, 0))
            out[v.owner] = (metrics + 1, series + v.series)
    return out

"""``metrics-auditor jobs``: per scrape job, series, change, churn, limit usage and largest targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from rich.markup import escape
from rich.table import Table

from auditor.core.durations import approximate
from auditor.core.jobs import JobCensus, JobStats
from auditor.export.terminal import console


@dataclass(frozen=True)
class JobsView:
    source: str
    collected_at: datetime
    census: JobCensus
    previous: JobCensus | None = None
    """The cycle before, for the change column; None when it is the first."""
    limit_seconds: dict[str, float] = field(default_factory=dict)
    """job -> forecast seconds until its largest target reaches the ``sample_limit`` (rising jobs only)."""

    def change(self, job: str) -> int | None:
        if self.previous is None:
            return None
        before = self.previous.jobs.get(job)
        return self.census.jobs[job].series - (before.series if before else 0)

    def stale(self) -> list[dict[str, Any]]:
        """The largest metrics' head series against their active ones: stale series waiting for head GC."""
        rows = [
            {"metric": m, "head": head, "active": active, "stale": max(0, head - active)}
            for m, (head, active) in self.census.head_active.items()
        ]
        return sorted(rows, key=lambda r: (-r["stale"], r["metric"]))

    def ranked(self) -> list[JobStats]:
        return sorted(self.census.jobs.values(), key=lambda j: (-j.series, j.job))


def jobs_json(view: JobsView) -> dict[str, Any]:
    return {
        "source": view.source,
        "collected_at": view.collected_at.isoformat(),
        "jobs_truncated": view.census.truncated,
        "jobs": [
            {
                "job": j.job, "series": j.series, "change": view.change(j.job), "targets": j.targets,
                "series_added": j.series_added, "limits": j.limits, "limit_usage": j.limit_usage,
                "limit_seconds": view.limit_seconds.get(j.job),
                "largest_targets": [
                    {"instance": t.instance, "series": t.series, "series_added": t.series_added}
                    for t in j.largest_targets
                ],
            }
            for j in view.ranked()
        ],
        "stale_series": view.stale(),
    }  # fmt: skip


def print_jobs(view: JobsView, out: TextIO) -> None:
    term = console(out)
    jobs = view.ranked()
    term.print(f"{view.source} at {view.collected_at:%Y-%m-%d %H:%M:%S}Z: {len(jobs)} scrape jobs")
    table = Table()
    for column, justify in (("job", "left"), ("series", "right"), ("change", "right"), ("targets", "right"),
                            ("series added", "right"), ("sample_limit", "right"), ("largest target", "left"),
                            ("limit usage", "right"), ("limit in", "right")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for j in jobs:
        table.add_row(*_row(view, j))
    term.print(table)
    if view.census.truncated:
        term.print(f"... and {view.census.truncated:,} smaller jobs (AUDITOR_JOBS__MAX_JOBS)")
    stale = [r for r in view.stale() if r["stale"]]
    if stale:
        listed = ", ".join(f"{escape(r['metric'])} ({r['stale']:,} of {r['head']:,})" for r in stale[:5])
        term.print(f"stale series in the head, waiting for its next GC: {listed}")


def _row(view: JobsView, j: JobStats) -> list[str]:
    change = view.change(j.job)
    largest = j.largest_targets[0] if j.largest_targets else None
    limit = j.sample_limit
    return [
        escape(j.job),
        f"{j.series:,}",
        "-" if change is None else f"{change:+,}",
        f"{j.targets:,}",
        f"{j.series_added:,}",
        "unknown" if limit is None else ("none" if limit == 0 else f"{limit:,}"),
        f"{escape(largest.instance)} ({largest.series:,})" if largest else "-",
        "-" if j.limit_usage is None else f"{j.limit_usage:.0%}",
        approximate(eta) if (eta := view.limit_seconds.get(j.job)) is not None else "-",
    ]

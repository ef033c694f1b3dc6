"""The one fixed input every check's snapshot is taken on, and the text a snapshot holds.

It is built so that each check reports and each one also passes over a near miss: a metric just under its
warning, a growth under its limit, a job under its budget, a target under 80 % of its ``sample_limit``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from pathlib import Path

from auditor.config.budgets import load_budgets
from auditor.core.domain import CensusMethod, HeadStats, LabelStats, SeriesNotion
from auditor.core.durations import format_duration
from auditor.core.jobs import JobCensus, JobStats, TargetStats
from auditor.evaluate.model import EvaluationInput
from tests.support import builders

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(days=7)

METRICS = {
    "user_sessions": 450,  # over its 400
    "http_requests_total": 420,  # 84 % of 500: a warning, and +110 % in 1d
    "http_errors_total": 390,  # 78 %: under the warning; +30 % in 1d is under its 50 %
    "node_cpu_seconds_total": 900,  # 90 % of the default 1000, +28.6 % in 7d
    "billing_events_total": 3,  # a budget of 0: must not exist
    "quiet_metric": 40,  # below growth_min_series, though it tripled
}
LABELS = {
    "user_sessions": {
        "user_id": LabelStats(265, 2), "region": LabelStats(9, 265), "session_id": LabelStats(3, 450),
        "instance": LabelStats(2, 225),
    },
    "http_requests_total": {"route": LabelStats(12, 35), "code": LabelStats(5, 84)},
}  # fmt: skip
BASELINES = {
    DAY: {"http_requests_total": 200, "http_errors_total": 300, "quiet_metric": 10},
    WEEK: {"node_cpu_seconds_total": 700, "user_sessions": 440},
}


def _rising(start: float, per_hour: float, hours: int = 12) -> list[tuple[float, float]]:
    t0 = (NOW - hours * HOUR).timestamp()
    return [(t0 + h * 3600, start + per_hour * h) for h in range(hours + 1)]


def _job(name: str, series: int, largest: int, sample_limit: int) -> JobStats:
    targets = (TargetStats(f"{name}-0:9100", largest), TargetStats(f"{name}-1:9100", series - largest))
    return JobStats(name, series, 2, 0, targets, {"sample_limit": sample_limit})


JOBS = JobCensus({
    "api": _job("api", 2100, 850, 1000),  # over its budget; its largest target at 85 % of sample_limit
    "batch": _job("batch", 4200, 3000, 0),  # 84 % of its budget, and no sample_limit
    "node": _job("node", 1700, 900, 800),  # no jobs: entry; its largest target over sample_limit
    "web": _job("web", 600, 300, 1000),  # 30 % of its sample_limit: nothing to say
})  # fmt: skip


def fixed_input() -> EvaluationInput:
    census = builders.census(
        METRICS, NOW, version="2.53.0", method=CensusMethod.TSDB_STATUS, notion=SeriesNotion.HEAD,
        head=HeadStats(sum(METRICS.values()), 0, 0, 0, 0), label_stats={}, stale_names=0,
    )  # fmt: skip
    return EvaluationInput(
        census=census,
        budgets=load_budgets(Path(__file__).with_name("budgets.yml"), today=date(2026, 11, 23)),
        labels=LABELS,
        baselines=BASELINES,
        recent_max={"node_cpu_seconds_total": 900},
        trends={"node_cpu_seconds_total": _rising(600, 25), "http_errors_total": _rising(400, -1)},
        jobs=JOBS,
        job_baselines={DAY: {"api": 1500, "batch": 4000}},
        job_recent_max={"api": 2100},
        job_trends={"api": _rising(600, 20), "web": _rising(300, 0)},
    )


def render(verdicts: Iterable[object]) -> str:
    """One line per verdict: its type and every field; a finding adds its description on the next line."""
    lines = []
    for verdict in verdicts:
        assert is_dataclass(verdict)
        values = " ".join(f"{f.name}={_text(getattr(verdict, f.name))}" for f in fields(verdict))
        lines.append(f"{type(verdict).__name__} {values}")
        if describe := getattr(verdict, "describe", None):
            lines.append(f"  {describe()}")
    return "\n".join(lines) + "\n"


def _text(value: object) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value) if isinstance(value, str) else str(value)

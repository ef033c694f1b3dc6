"""What the daemon knows about its own cycles; read by the self-metrics collector and ``/readyz``."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

from auditor.collect.optional import EndpointsView
from auditor.core.domain import Census
from auditor.core.jobs import JobCensus
from auditor.evaluate import Evaluation
from auditor.evaluate.rules_diff import RulesDiff
from auditor.evaluate.usage import UsageSummary


@dataclass(frozen=True, slots=True)
class RulesState:
    """The rules Prometheus had loaded in a cycle, and their drift from the desired ones."""

    fingerprint: str
    loaded: dict[str, int]
    """Rules by kind (``record``, ``alert``)."""
    unhealthy: int
    drift: RulesDiff | None = None
    """Loaded -> desired; None when no desired rules are configured (AUDITOR_RULES_DIR)."""


@dataclass(frozen=True, slots=True)
class CycleDetails:
    """What a successful cycle found beyond the census."""

    evaluation: Evaluation
    drilldown_requests: int = 0
    drilldown_skipped: int = 0
    rules: RulesState | None = None
    policy_queries: int = 0
    policy_skipped: int = 0
    """Labels the label-policy scan left out (bounds)."""
    jobs: JobCensus | None = None


@dataclass(frozen=True, slots=True)
class IoState:
    """Retries, the circuit breaker and the spool, as of the end of the last cycle."""

    request_retries: int = 0
    circuit_open: bool = False
    spool_pending: int = 0
    spooled: int = 0
    spool_written: int = 0
    spool_dropped: int = 0
    standby: bool = False
    endpoints: EndpointsView = field(default_factory=EndpointsView)


@dataclass(frozen=True, slots=True)
class StatsView:
    successes: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    duration_sum: float = 0.0
    last_duration: float | None = None
    last_success: datetime | None = None
    prometheus_up: bool | None = None
    database_up: bool | None = None
    census: Census | None = None
    details: CycleDetails | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    io: IoState = field(default_factory=IoState)
    usage: UsageSummary | None = None
    """The query log's reader and the unused metrics; None while no query log is read."""
    usage_read_failures: int = 0


class CycleStats:
    """Thread-safe counters; ``view()`` gives a consistent copy for one scrape."""

    def __init__(self, last_success: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._view = StatsView(last_success=last_success)
        self._failures: Counter[str] = Counter()

    def record_success(
        self, census: Census, duration: float, details: CycleDetails | None = None, database_up: bool = True
    ) -> None:
        with self._lock:
            view = self._view
            self._view = replace(
                view,
                successes=view.successes + 1,
                duration_sum=view.duration_sum + duration,
                last_duration=duration,
                last_success=census.collected_at,
                prometheus_up=True,
                database_up=database_up,
                census=census,
                details=details,
            )

    def record_failure(
        self, reason: str, duration: float, prometheus_up: bool | None = None, database_up: bool | None = None
    ) -> None:
        with self._lock:
            self._failures[reason] += 1
            view = self._view
            self._view = replace(
                view,
                failures=dict(self._failures),
                duration_sum=view.duration_sum + duration,
                last_duration=duration,
                prometheus_up=view.prometheus_up if prometheus_up is None else prometheus_up,
                database_up=view.database_up if database_up is None else database_up,
            )

    def record_usage(self, summary: UsageSummary, failures: int) -> None:
        with self._lock:
            self._view = replace(self._view, usage=summary, usage_read_failures=failures)

    def record_skip(self, reason: str) -> None:
        with self._lock:
            skipped = dict(self._view.skipped)
            skipped[reason] = skipped.get(reason, 0) + 1
            self._view = replace(self._view, skipped=skipped)

    def record_io(self, io: IoState) -> None:
        with self._lock:
            self._view = replace(self._view, io=io)

    def view(self) -> StatsView:
        with self._lock:
            return self._view

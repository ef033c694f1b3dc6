"""What the daemon knows about its own cycles, as the self-metrics and ``/readyz`` read it (``app/stats.py`` keeps
it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from auditor.core.domain import Census, EndpointsView
from auditor.core.fixes import FixSummary
from auditor.core.histograms import Inventory
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
    failing_reads: frozenset[str] = frozenset()
    """Metrics the rules whose last evaluation failed read."""


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
    fixes: FixSummary | None = None
    """The fix ledger of the source after the last cycle; None before the first."""
    histograms: Inventory | None = None
    """The last histogram inventory this process took; None before the first."""

"""One cycle as the store takes it, and what a save gives back: stored, or standby while another auditor writes.

record = CycleRecord(census, url, duration_seconds, findings=..., writer=Writer("a1", timedelta(minutes=15)))
match store.save(record):
    case Stored(snapshot_id): ...
    case Standby(holder): ...     # another auditor holds the source's writer lease; nothing was written
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from auditor.core.domain import Census, LabelStats
from auditor.core.findings import Finding
from auditor.core.histograms import Inventory
from auditor.core.jobs import JobCensus
from auditor.core.rulesets import RuleSet

Drilldown = dict[str, dict[str, LabelStats]]
"""metric -> label -> drill-down figures."""


@dataclass(frozen=True, slots=True)
class Writer:
    """An auditor's claim on a source: ``holder`` names it, ``lease`` is how long a claim lasts unrenewed."""

    holder: str
    lease: timedelta


@dataclass(frozen=True, slots=True)
class CycleRecord:
    """Everything one cycle writes, in one transaction."""

    census: Census
    url: str
    duration_seconds: float
    drilldown: Drilldown = field(default_factory=dict)
    drilldown_skipped: int = 0
    findings: Sequence[Finding] | None = None
    """None leaves the stored findings alone; a sequence replaces the open ones."""
    rules: RuleSet | None = None
    writer: Writer | None = None
    """Written only under this writer's lease on the source (taken or renewed in the same transaction)."""
    jobs: JobCensus | None = None
    histograms: Inventory | None = None
    """The histogram inventory, in a cycle that took it."""


@dataclass(frozen=True, slots=True)
class Stored:
    snapshot_id: int


@dataclass(frozen=True, slots=True)
class Standby:
    """Another auditor holds the source's writer lease: nothing of the cycle was written."""

    holder: str
    """Who holds it, and until when."""


Saved = Stored | Standby

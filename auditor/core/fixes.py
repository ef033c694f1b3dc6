"""The fix ledger's vocabulary: every remedy printed, what it predicted, and what was measured after it landed.

    proposed -> applied (the label or metric is gone, or the series fell) -> verified (within 10 % of the
    prediction) or missed; regressed when it comes back; harmful when, once applied, the series fell below a
    prediction that said nothing merges, or the duplicate-sample counter rose (docs/fixes.md).

Measured series are **active** series (an instant ``count``), never head series: the head keeps a series
for about two hours after its last sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from auditor.core.remedies import Action

TOLERANCE = 0.10
"""A measurement within 10 % of the prediction verifies it."""


class FixState(StrEnum):
    PROPOSED = "proposed"
    APPLIED = "applied"
    VERIFIED = "verified"
    MISSED = "missed"
    REGRESSED = "regressed"
    HARMFUL = "harmful"


OPEN = frozenset(FixState)
"""Every state is observed again: a verified fix can regress, an applied one turn out harmful."""


@dataclass(frozen=True, slots=True)
class LedgerFix:
    id: int
    source: str
    metric: str
    label: str
    """"" for a remedy of the whole metric."""
    action: Action
    state: FixState
    safe: bool
    series_before: int
    predicted_series: int | None
    proof: str
    proposed_at: datetime
    state_at: datetime
    applied_at: datetime | None = None
    observed_at: datetime | None = None
    measured_series: int | None = None
    duplicates_at_apply: float | None = None
    """The server's duplicate-sample counter when the fix was seen applied (None when it is not exposed)."""
    scraped_before: float | None = None
    """Samples per scrape of the metric's targets at the first observation (a fix at the source lowers them; a
    relabeling that removes the label does not)."""

    @property
    def error_ratio(self) -> float | None:
        """(measured - predicted) / predicted; None before a measurement after it landed."""
        if self.measured_series is None or self.predicted_series is None or self.applied_at is None:
            return None
        if self.predicted_series == 0:
            return 0.0 if self.measured_series == 0 else None
        return (self.measured_series - self.predicted_series) / self.predicted_series

    @property
    def series_saved(self) -> int:
        """Series fewer than before, once it landed and did no harm (merged series are never a saving)."""
        if self.state not in (FixState.APPLIED, FixState.VERIFIED, FixState.MISSED) or self.measured_series is None:
            return 0
        return max(0, self.series_before - self.measured_series)


@dataclass(frozen=True, slots=True)
class Observation:
    """One cycle's measurement of a fix's metric."""

    active: int
    """``count(metric)``; 0 when nothing answers."""
    carrying: int | None
    """``count(metric{label!=""})`` for a label's fix; None for a metric's."""
    duplicates: float | None
    """The duplicate-sample counter now; None when the server does not expose it."""
    rule_failing: bool = False
    """A loaded rule that reads the metric failed its last evaluation."""
    scraped: float | None = None
    """``scrape_samples_scraped`` summed over the targets that expose the metric (for a fix at the source)."""


@dataclass(frozen=True, slots=True)
class FixSummary:
    """What the self-metrics say about the ledger of one source."""

    states: dict[FixState, int]
    series_saved: int
    harmful: tuple[tuple[str, str], ...]
    """(metric, label) of the harmful fixes, the alert's subject."""

"""A remedy: what to change for an offender, decided on proof, with what it will leave (docs/fixes.md).

In Prometheus a relabeling that lowers a metric's series count without dropping whole series merges series:
relabeling does not aggregate. So a remedy is ``safe`` (its ``config`` paste-ready) only when it drops whole
series nobody reads (``drop_metric``), or removes a label nobody reads that makes no series unique
(``drop_label``: it saves no series). Anything else is changed at the source (``fix_at_source``), with no
relabeling printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from auditor.core.domain import LabelStats
from auditor.core.label_usage import Reader

KEEP_LABELS = frozenset({"__name__", "job", "instance", "le", "quantile"})
"""Never removed: they identify the target, or they are a histogram's or a summary's structure."""


def removable(labels: Mapping[str, LabelStats]) -> list[str]:
    """The labels a remedy may remove, most values first (the drill-down proves them in this order)."""
    return sorted((n for n, s in labels.items() if n not in KEEP_LABELS and s.values > 1),
                  key=lambda n: (-labels[n].values, n))  # fmt: skip


class Action(StrEnum):
    DROP_METRIC = "drop_metric"
    DROP_LABEL = "drop_label"
    FIX_AT_SOURCE = "fix_at_source"
    CONVERT_HISTOGRAM = "convert_histogram"
    DROP_BUCKETS = "drop_buckets"


BY_JOB = frozenset({Action.CONVERT_HISTOGRAM, Action.DROP_BUCKETS})
"""Remedies of one histogram family in one scrape job: their ``label`` holds the job (the ledger's key), and their
JSON says ``job`` (``label`` null)."""


@dataclass(frozen=True, slots=True)
class Proof:
    """The measurements a remedy was decided on; None where a figure was not measured."""

    series_with: int | None = None
    """``count(metric)``: active series when measured."""
    series_without: int | None = None
    """``count(count without (label) (metric))``."""
    label_values: int | None = None
    readers_known: bool = False
    """The query log covers the whole usage window (otherwise "nobody reads it" is not known)."""
    text: str = ""
    """The proof in words, as printed."""

    @property
    def merges(self) -> bool | None:
        """Whether dropping the label merges series; None when not measured, or when the metric has no active series
        (nothing to prove anything on)."""
        if not self.series_with or self.series_without is None:
            return None
        return self.series_without < self.series_with


@dataclass(frozen=True, slots=True)
class Remedy:
    action: Action
    metric: str
    label: str | None
    safe: bool
    proof: Proof
    series_now: int
    predicted_series: int | None
    """Series the metric keeps once the remedy is applied; None when it cannot be predicted."""
    blocked_by: tuple[Reader, ...] = ()
    config: str | None = None
    """Paste-ready text; None where nothing is safe to paste."""
    note: str = ""
    """What it does, or what would break, in words."""
    shape: str | None = None
    """What the label's values look like (``fix_at_source``)."""
    stream_aggregation: str | None = None
    """On VictoriaMetrics: a vmagent stream-aggregation rule that aggregates the label away at the source."""
    recording_rule: str | None = None
    """For readers that need the aggregate once the source no longer sends the label."""

    @property
    def series_saved(self) -> int | None:
        return None if self.predicted_series is None else self.series_now - self.predicted_series

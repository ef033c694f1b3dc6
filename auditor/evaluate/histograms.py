"""What converting each classic histogram would save, the switch per job, its readers' queries rewritten, and the
remedies that go into the fix ledger (docs/histograms.md).

    entries = histogram_entries(inventory, readings, owner_of)   # per family and job, largest saving first
    remedies = histogram_remedies(entries)                        # convert_histogram, drop_buckets

A switch is recommended only where the server stores what it produces (``Inventory.support``): a Prometheus 3
job with ``convert_classic_histograms_to_nhcb`` on a server without native histograms stores nothing of the
histogram, and says nothing about it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from auditor.core.histogram_queries import Rewrite, families_read, rewrite, rewrite_grafana
from auditor.core.histograms import Inventory, JobFamily
from auditor.core.label_usage import Reader
from auditor.core.promql import quote_meta, string
from auditor.core.remedies import Action, Proof, Remedy

DUAL = "always_scrape_classic_histograms: true"


@dataclass(frozen=True, slots=True)
class Reading:
    """A query that reads some metric, and who runs it."""

    reader: Reader
    expr: str
    grafana: bool = False
    """A dashboard's query: Grafana's variables are kept through the rewrite."""


@dataclass(frozen=True, slots=True)
class Switch:
    recommended: bool
    reason: str
    config: str | None = None
    """The scrape-job settings for the dual period (classic series kept beside the native ones)."""
    operator: str | None = None
    """The same on prometheus-operator's ServiceMonitor or PodMonitor."""


@dataclass(frozen=True, slots=True)
class QueryChange:
    reader: Reader
    rewrite: Rewrite


@dataclass(frozen=True, slots=True)
class HistogramEntry:
    family: JobFamily
    owner: str
    switch: Switch
    queries: tuple[QueryChange, ...] = ()
    """Every reading of the family, rewritten."""
    manual: tuple[QueryChange, ...] = ()
    """Readings that are not rewritten, with why."""


@dataclass(frozen=True)
class HistogramView:
    """What ``histograms`` and the report print of one source: its newest inventory, judged."""

    source: str
    at: datetime
    inventory: Inventory
    entries: list[HistogramEntry]


def histogram_entries(
    inventory: Inventory, readings: Sequence[Reading], owner_of: Callable[[str], str]
) -> list[HistogramEntry]:
    """One entry per family and job, the largest saving first."""
    names = {f.metric for f in inventory.families}
    changes = _changes(readings, names)
    entries = []
    for family in inventory.families:
        mine = changes.get(family.metric, [])
        done = tuple(c for c in mine if c.rewrite.after is not None)
        manual = tuple(c for c in mine if c.rewrite.after is None)
        entries.append(HistogramEntry(family, owner_of(family.metric), _switch(inventory, family), done, manual))
    return sorted(entries, key=lambda e: (-e.family.saved, e.family.metric, e.family.job))


def _changes(readings: Sequence[Reading], names: set[str]) -> dict[str, list[QueryChange]]:
    out: dict[str, list[QueryChange]] = {}
    for reading in readings:
        read = families_read(reading.expr, names)
        done = (rewrite_grafana if reading.grafana else rewrite)(reading.expr, read) if read else None
        if done is None:
            continue
        for family in read:
            out.setdefault(family, []).append(QueryChange(reading.reader, done))
    return out


def _switch(inventory: Inventory, family: JobFamily) -> Switch:
    support = inventory.support
    if not support.switch or support.native_histograms is not True:
        return Switch(False, support.reason)
    return Switch(True, support.reason, switch_config(family.job), OPERATOR)


def switch_config(job: str) -> str:
    """The settings of one scrape job for the dual period; drop the second line once every reader is rewritten."""
    return (
        f"scrape_configs:\n  - job_name: {_yaml(job)}\n    # ... the job's settings as they are, and:\n"
        f"    convert_classic_histograms_to_nhcb: true\n    {DUAL}   # the dual period: classic series kept\n"
    )


OPERATOR = (
    "# prometheus-operator v0.81+: in the ServiceMonitor or PodMonitor that makes this job\n"
    "spec:\n  convertClassicHistogramsToNHCB: true\n  scrapeClassicHistograms: true   # the dual period\n"
    "# and in the Prometheus resource: spec.enableFeatures: [native-histograms]\n"
)


def histogram_remedies(entries: Iterable[HistogramEntry]) -> list[Remedy]:
    """``convert_histogram`` where the switch is recommended, ``drop_buckets`` where buckets never fill."""
    out = []
    for entry in entries:
        if entry.switch.recommended:
            out.append(convert_remedy(entry))
        if entry.family.empty_buckets:
            out.append(drop_buckets_remedy(entry))
    return out


def convert_remedy(entry: HistogramEntry) -> Remedy:
    """Safe when every reading is rewritten: the classic series can go once the readers read the native ones."""
    f = entry.family
    blocked = tuple(c.reader for c in entry.manual)
    text = (f"{f.label_sets} label sets x ({f.buckets} buckets + 2) = {f.series_now} series in job {f.job}; "
            f"as native histograms {f.series_after}")  # fmt: skip
    if blocked:
        text += f"; {len(blocked)} readings are not rewritten (see `metrics-auditor histograms`)"
    return Remedy(
        Action.CONVERT_HISTOGRAM, f.metric, f.job, not blocked, Proof(text=text),
        f.series_now, f.series_after, blocked, None if blocked else entry.switch.config,
        note=f"{len(entry.queries)} readings rewritten; keep `{DUAL}` until they are deployed",
    )  # fmt: skip


def drop_buckets_remedy(entry: HistogramEntry) -> Remedy:
    """Safe when no reading names one of those buckets (a ``le`` matcher); quantiles then interpolate over the
    next bucket instead, so a value they return may move within it, and no observation is lost."""
    f = entry.family
    blocked = tuple(c.reader for c in (*entry.queries, *entry.manual) if _names_bucket(c.rewrite.before, f))
    predicted = f.series_now - f.empty_series
    text = (f"the buckets le={', '.join(f.empty_buckets)} never filled over the window (each equals the next "
            f"lower one in every label set): {f.empty_series} series in job {f.job}")  # fmt: skip
    return Remedy(
        Action.DROP_BUCKETS, f.metric, f.job, not blocked, Proof(text=text), f.series_now,
        predicted, blocked, None if blocked else drop_buckets_config(f),
        note="no observation is lost; a quantile interpolates over the next bucket instead",
    )  # fmt: skip


def drop_buckets_config(family: JobFamily) -> str:
    """A ``metric_relabel_configs`` entry for the family's job that drops exactly those buckets' series."""
    les = "|".join(quote_meta(le) for le in family.empty_buckets)
    regex = string(f"{quote_meta(family.metric)}_bucket;({les})")
    return f"metric_relabel_configs:\n  - source_labels: [__name__, le]\n    regex: {regex}\n    action: drop\n"


def _names_bucket(expr: str, family: JobFamily) -> bool:
    return any(f'le="{le}"' in expr.replace(" ", "") for le in family.empty_buckets)


def _yaml(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

"""``metrics-auditor histograms``: classic histograms, what converting each saves, the switch per job, the queries
rewritten and the ones that are not (docs/histograms.md)."""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from auditor.evaluate.histograms import HistogramEntry, HistogramView, QueryChange
from auditor.export.terminal import console


def histograms_json(view: HistogramView) -> dict[str, object]:
    """docs/cli.md: ``{"server": {"version", "native_histograms"}, "histograms": [{"metric", "job", "label_sets",
    "buckets", "series_now", "series_after", "empty_buckets", "switch", "queries": [{"where", "before", "after"}],
    "manual": [...]}, ...]}``."""
    support = view.inventory.support
    return {
        "source": view.source, "collected_at": view.at.isoformat(),
        "server": {"version": view.inventory.version, "native_histograms": support.native_histograms,
                   "switch": support.switch, "reason": support.reason},
        "skipped": view.inventory.skipped,
        "series_now": sum(e.family.series_now for e in view.entries),
        "series_after": sum(e.family.series_after for e in view.entries),
        "histograms": [entry_json(e) for e in view.entries],
    }  # fmt: skip


def entry_json(entry: HistogramEntry) -> dict[str, object]:
    f, switch = entry.family, entry.switch
    return {
        "metric": f.metric, "job": f.job, "owner": entry.owner, "label_sets": f.label_sets, "buckets": f.buckets,
        "series_now": f.series_now, "series_after": f.series_after, "series_saved": f.saved,
        "empty_buckets": list(f.empty_buckets), "empty_bucket_series": f.empty_series,
        "switch": {"recommended": switch.recommended, "reason": switch.reason, "config": switch.config,
                   "operator": switch.operator},
        "queries": [{"where": str(c.reader), "before": c.rewrite.before, "after": c.rewrite.after,
                     "dual": c.rewrite.dual} for c in entry.queries],
        "manual": [{"where": str(c.reader), "query": c.rewrite.before, "why": c.rewrite.why} for c in entry.manual],
    }  # fmt: skip


def print_histograms(view: HistogramView, out: TextIO) -> None:
    term = console(out)
    inventory, support = view.inventory, view.inventory.support
    now, after = (sum(getattr(e.family, k) for e in view.entries) for k in ("series_now", "series_after"))
    term.print(f"{escape(view.source)} (Prometheus {escape(inventory.version)}, {view.at:%Y-%m-%d %H:%M} UTC): "
               f"{len(view.entries)} classic histograms, {now:,} series; as native histograms {after:,}")  # fmt: skip
    term.print(f"switch: {'recommended' if support.native_histograms and support.switch else 'not recommended'}: "
               f"{escape(support.reason)}")  # fmt: skip
    if inventory.skipped:
        term.print(f"{inventory.skipped} more classic histograms not measured (AUDITOR_HISTOGRAMS__MAX_FAMILIES)")
    if not view.entries:
        return
    term.print(_table(view.entries))
    for entry in view.entries:
        _print_entry(term, entry)


def _table(entries: list[HistogramEntry]) -> Table:
    table = Table()
    for column, justify in (("metric", "left"), ("job", "left"), ("owner", "left"), ("label sets", "right"),
                            ("buckets", "right"), ("now", "right"), ("after", "right"), ("never filled", "left"),
                            ("rewritten", "right"), ("manual", "right")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for e in entries:
        f = e.family
        table.add_row(escape(f.metric), escape(f.job), escape(e.owner), f"{f.label_sets:,}", str(f.buckets),
                      f"{f.series_now:,}", f"{f.series_after:,}", escape(", ".join(f.empty_buckets)) or "-",
                      str(len(e.queries)), str(len(e.manual)))  # fmt: skip
    return table


def _print_entry(term: Console, entry: HistogramEntry) -> None:
    f = entry.family
    if not (entry.switch.config or entry.queries or entry.manual):
        return
    term.print(f"\n{f.metric} in job {f.job}:", markup=False)
    if entry.switch.config:
        term.print(entry.switch.config, markup=False, end="")
    for change in entry.queries:
        _print_change(term, change)
    for change in entry.manual:
        term.print(f"  not rewritten, {change.reader}: {change.rewrite.why}\n    {change.rewrite.before}", markup=False)


def _print_change(term: Console, change: QueryChange) -> None:
    term.print(f"  {change.reader}:\n    before: {change.rewrite.before}\n    after:  {change.rewrite.after}\n"
               f"    dual:   {change.rewrite.dual}", markup=False)  # fmt: skip

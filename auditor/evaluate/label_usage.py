"""Which labels of a metric are read, and by whom: the query log's reads with the rules' and dashboards'.

    verdicts = judge_labels(["route", "user_id"], stored, static)
    # [LabelVerdict("route", readers=(Reader(QUERY, 'sum by (route) ...'),), last_read=..., used=True), ...]

A key read "every label" (``a / b``), or "every label but L" (``sum without (L)``), reads each label it
covers: a reader too many keeps a label, a reader too few would let a fix break a dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from auditor.core.label_reads import EVERY, reads_label
from auditor.core.label_usage import LabelReads, Reader
from auditor.core.usage import Credit

StaticReads = dict[str, dict[str, list[Reader]]]
"""metric -> label key -> the rules and dashboard panels that read it."""


@dataclass(frozen=True, slots=True)
class LabelVerdict:
    name: str
    readers: tuple[Reader, ...]
    last_read: datetime | None
    """The last query of the log that read it; None when none did (rules and dashboards have no time)."""
    reads: int
    """Queries and rule evaluations of the log that read it over the window."""

    @property
    def used(self) -> bool:
        return bool(self.readers) or self.reads > 0


def judge_labels(
    labels: Iterable[str], stored: dict[str, LabelReads], static: dict[str, list[Reader]]
) -> list[LabelVerdict]:
    """A verdict per label of the metric (its labels, and every label a reader names), by name."""
    named = {key for key in [*stored, *static] if key != EVERY and not key.startswith("!")}
    return [_verdict(name, stored, static) for name in sorted(set(labels) | named)]


def _verdict(name: str, stored: dict[str, LabelReads], static: dict[str, list[Reader]]) -> LabelVerdict:
    readers: list[Reader] = []
    last: datetime | None = None
    reads = 0
    for key, r in stored.items():
        if reads_label((key,), name):
            readers += [x for x in r.readers if x not in readers]
            reads += r.api + r.rule
            last = r.last if last is None or (r.last is not None and r.last > last) else last
    for key, found in static.items():
        if reads_label((key,), name):
            readers += [x for x in found if x not in readers]
    return LabelVerdict(name, tuple(readers), last, reads)


def static_reads(exprs: Iterable[tuple[Reader, str, frozenset[str]]], names: Iterable[str]) -> StaticReads:
    """What rules and dashboard panels read, per metric and label key (regexes matched against ``names``).

    Each expression comes with the labels its panel shows besides (a legend's ``{{route}}``). One the parser
    refuses reads every label of each metric it names.
    """
    credit = Credit(names)
    out: StaticReads = {}
    for reader, expr, shown in exprs:
        try:
            found = credit.reads(expr)
        except ValueError:
            found = credit.named(expr)
        for metric, key in {*found.labels, *((m, label) for m in found.metrics for label in shown)}:
            readers = out.setdefault(metric, {}).setdefault(key, [])
            if reader not in readers:
                readers.append(reader)
    return out

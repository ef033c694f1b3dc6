"""Who reads a label of a metric: queries of the log, rule groups, dashboard panels.

    reads = LabelReads(api=3, rule=0, last=at, readers=(query_reader('sum by (route) (x)'),))
    reads.plus(other)          # counts summed, the later time, readers joined (a few kept)

A query log holds anyone's queries, so what is kept is bounded: ``READERS_KEPT`` readers per label and
day, ``KEYS_KEPT`` label keys per metric and day. Past that bound the rest of a metric's keys fold into
"every label is read": a reader too many keeps a label, a reader too few would let a fix break one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from auditor.core.label_reads import EVERY

READERS_KEPT = 5
KEYS_KEPT = 64
QUERY_CHARS = 200
"""A query reader is named by its fingerprint and the start of its text."""


class ReaderKind(StrEnum):
    RULE = "rule"
    """A rule group: evaluations in the query log, or a desired rule file."""
    DASHBOARD = "dashboard"
    QUERY = "query"
    """An API query of the log (a dashboard not exported, a person, a tool)."""


@dataclass(frozen=True, slots=True)
class Reader:
    kind: ReaderKind
    name: str
    """The rule group, ``dashboard file: panel title``, or the query's text (shortened)."""
    fingerprint: str = ""
    """A query's fingerprint (the start of the SHA-256 of its whole text); empty for rules and dashboards."""

    def __str__(self) -> str:
        what = f"query {self.fingerprint}" if self.kind is ReaderKind.QUERY else self.kind.value
        return f"{what}: {self.name}"


def query_reader(text: str) -> Reader:
    short = text if len(text) <= QUERY_CHARS else text[: QUERY_CHARS - 3] + "..."
    return Reader(ReaderKind.QUERY, " ".join(short.split()), hashlib.sha256(text.encode()).hexdigest()[:12])


@dataclass(frozen=True, slots=True)
class LabelReads:
    """How often a label key of a metric was read, when last, and by whom (a few)."""

    api: int = 0
    rule: int = 0
    last: datetime | None = None
    readers: tuple[Reader, ...] = ()

    def plus(self, other: LabelReads) -> LabelReads:
        last = other.last if self.last is None else self.last if other.last is None else max(self.last, other.last)
        readers = self.readers + tuple(r for r in other.readers if r not in self.readers)
        return LabelReads(self.api + other.api, self.rule + other.rule, last, readers[:READERS_KEPT])


def bound_labels(labels: dict[tuple[date, str, str], LabelReads]) -> None:
    """Past ``KEYS_KEPT`` keys of a metric on a day, the rest fold into ``EVERY`` (in place)."""
    per: dict[tuple[date, str], int] = {}
    for day, metric, _ in labels:
        per[(day, metric)] = per.get((day, metric), 0) + 1
    crowded = {dm for dm, n in per.items() if n > KEYS_KEPT}
    if not crowded:
        return
    seen: dict[tuple[date, str], int] = {}
    over: list[tuple[date, str, str]] = []
    ordered = sorted((k for k in labels if k[:2] in crowded), key=lambda k: (k[0], k[1], k[2] != EVERY, k[2]))
    for day, metric, key in ordered:
        n = seen[(day, metric)] = seen.get((day, metric), 0) + 1
        if n > KEYS_KEPT and key != EVERY:
            over.append((day, metric, key))
    for day, metric, key in over:
        folded = labels.pop((day, metric, key))
        every = labels.get((day, metric, EVERY))
        labels[(day, metric, EVERY)] = folded if every is None else every.plus(folded)

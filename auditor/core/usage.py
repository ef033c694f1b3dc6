"""Which metrics queries read: the query log's lines credited to metric names, per day and kind.

    credit = Credit(census_names)
    credit.metrics('sum(rate(http_requests_total[5m]))')      # {"http_requests_total"}
    credit.metrics('{__name__=~"node_.*"}')                   # every census name the regex matches

Only selectors that name their metric count: an exact name (``up``, ``{"my.metric"}``,
``{__name__="up"}``) or a ``__name__`` regex, matched in full against the names of the census like
Prometheus does. A selector without a positive name matcher (``{job="api"}``) reads "everything of a
job" and credits nothing: one ad hoc query would otherwise mark every metric as used.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import promql_parser

from auditor.core.errors import InvalidPromQL
from auditor.core.label_reads import EVERY, Keys, label_reads
from auditor.core.label_usage import READERS_KEPT, LabelReads, Reader, ReaderKind, bound_labels, query_reader
from auditor.core.promql_parse import names, parse
from auditor.core.regex import NameIndex, prometheus_regex

_QUERIES_KEPT = 65_536


class QueryKind(StrEnum):
    API = "api"
    """Through the HTTP API: dashboards, people, tools."""
    RULE = "rule"
    """A rule evaluation."""


class Skip(StrEnum):
    """Why a query-log line was passed over (``metrics_auditor_query_log_skipped_lines_total{reason}``)."""

    UNREADABLE = "unreadable"
    """Not UTF-8 JSON."""
    NOT_AN_ENTRY = "not_an_entry"
    """JSON without ``params.query`` and a time."""
    BAD_TIME = "bad_time"
    """A time without a zone, out of range, or more than a day after the read."""
    LINE_TOO_LONG = "line_too_long"
    QUERY_TOO_LONG = "query_too_long"
    QUERY_TOO_DEEP = "query_too_deep"
    QUERY_TOO_COMPLEX = "query_too_complex"
    INVALID_PROMQL = "invalid_promql"
    PARSER_PANIC = "parser_panic"
    TOO_COSTLY = "too_costly"
    """Its regexes took more than the per-line time to match against the census."""


@dataclass(frozen=True, slots=True)
class LogPosition:
    """Where the reader stopped in the query log: the file (device, inode, head) and the byte after the last line."""

    path: str
    device: int
    inode: int
    offset: int
    head: str
    """Hash of the file's first bytes once it has them (tells a truncated or copied file apart); "" before."""


@dataclass
class UsageBatch:
    """What one read of the query log found: counts per (day, metric, kind), and the reader's new position."""

    lines: int = 0
    own: int = 0
    """Lines of the auditor's own queries (skipped)."""
    failures: int = 0
    """Lines skipped for any reason (``skipped`` holds them by reason)."""
    skipped: Counter[Skip] = field(default_factory=Counter)
    earliest: datetime | None = None
    latest: datetime | None = None
    position: LogPosition | None = None
    behind_bytes: int = 0
    """Bytes of the log left for the next read (a bound stopped this one)."""
    _pending: dict[tuple[date, QueryKind, QueryReads, str], list[Any]] = field(default_factory=dict, repr=False)
    _counts: dict[tuple[date, str, QueryKind], int] = field(default_factory=dict, repr=False)
    _last: dict[tuple[date, str, QueryKind], datetime] = field(default_factory=dict, repr=False)
    _labels: dict[tuple[date, str, str], list[Any]] = field(default_factory=dict, repr=False)
    """(day, metric, key) -> [api, rule, last, readers] while reads are spread; ``labels`` makes them values."""

    def skip(self, reason: Skip) -> None:
        self.failures += 1
        self.skipped[reason] += 1

    def credit(self, reads: QueryReads, kind: QueryKind, at: datetime, group: str = "") -> None:
        """One query that read ``reads`` (a rule evaluation of ``group``). Kept per distinct text until read: a
        line costs the same whether its query reads one metric or a regex's hundred."""
        key = (at.date(), kind, reads, group)
        pending = self._pending.get(key)
        if pending is None:
            self._pending[key] = [1, at]
        else:
            pending[0] += 1
            pending[1] = max(pending[1], at)
        if self.earliest is None or at < self.earliest:
            self.earliest = at
        if self.latest is None or at > self.latest:
            self.latest = at

    @property
    def counts(self) -> dict[tuple[date, str, QueryKind], int]:
        self._spread()
        return self._counts

    @property
    def last(self) -> dict[tuple[date, str, QueryKind], datetime]:
        self._spread()
        return self._last

    @property
    def labels(self) -> dict[tuple[date, str, str], LabelReads]:
        """(day, metric, label key) -> who read it that day (``auditor.core.label_reads`` keys)."""
        self._spread()
        out = {key: LabelReads(api, rule, last, readers) for key, (api, rule, last, readers) in self._labels.items()}
        bound_labels(out)
        return out

    def _spread(self) -> None:
        """Spread the pending queries over their metrics and labels, once per distinct set (many texts share one)."""
        if not self._pending:
            return
        metrics: dict[tuple[date, QueryKind, frozenset[str]], list[Any]] = {}
        labels: dict[tuple[date, QueryKind, frozenset[tuple[str, str]]], list[Any]] = {}
        for (day, kind, reads, group), (n, at) in self._pending.items():
            _gather(metrics, (day, kind, reads.metrics), n, at)
            if reads.labels:
                reader = _group_reader(group) if kind is QueryKind.RULE else reads.reader
                _gather(labels, (day, kind, reads.labels), n, at, reader)
        self._pending.clear()
        for (day, kind, read), (n, at, _) in metrics.items():
            for metric in read:
                key = (day, metric, kind)
                self._counts[key] = self._counts.get(key, 0) + n
                if key not in self._last or at > self._last[key]:
                    self._last[key] = at
        for (day, kind, pairs), (n, at, readers) in labels.items():
            self._spread_labels(day, pairs, (n, 0) if kind is QueryKind.API else (0, n), at, readers)

    def _spread_labels(
        self, day: date, pairs: frozenset[tuple[str, str]], counts: tuple[int, int], at: datetime,
        readers: tuple[Reader, ...],
    ) -> None:  # fmt: skip
        api, rule = counts
        for metric, label in pairs:
            key = (day, metric, label)
            acc = self._labels.get(key)
            if acc is None:
                self._labels[key] = [api, rule, at, readers]
                continue
            acc[0] += api
            acc[1] += rule
            acc[2] = max(acc[2], at)
            known = acc[3]
            if len(known) < READERS_KEPT and known is not readers:
                acc[3] = (*known, *(r for r in readers if r not in known))[:READERS_KEPT]


@functools.lru_cache(maxsize=1024)
def _group_reader(group: str) -> Reader:
    """One object per rule group: readers are told apart by identity first, which is cheap."""
    return Reader(ReaderKind.RULE, group)


def _gather(into: dict[Any, list[Any]], key: Any, n: int, at: datetime, reader: Reader | None = None) -> None:
    """Add ``n`` reads at ``at`` (and a reader, a few kept) to ``into[key]``: ``[n, last, readers]``."""
    acc = into.get(key)
    if acc is None:
        into[key] = [n, at, (reader,) if reader else ()]
        return
    acc[0] += n
    acc[1] = max(acc[1], at)
    if reader is not None and reader not in acc[2] and len(acc[2]) < READERS_KEPT:
        acc[2] = (*acc[2], reader)


@dataclass(frozen=True, eq=False)
class QueryReads:
    """What one query text reads: metric names, and (metric, label key) pairs (``auditor.core.label_reads``).

    Compared by identity: the same text gives the same object for a read of the log.
    """

    metrics: frozenset[str]
    labels: frozenset[tuple[str, str]]
    text: str

    @functools.cached_property
    def reader(self) -> Reader:
        """The query as a reader of its labels (its fingerprint and the start of its text), made once."""
        return query_reader(self.text)


class Credit:
    """Metric names and labels a query reads, against the names of one census (regexes are matched against them)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = frozenset(names)
        self._index: NameIndex | None = None
        """Built at the first regex: most lines name their metrics."""
        self._regexes: dict[str, frozenset[str]] = {}
        self._queries: dict[str, QueryReads] = {}

    def metrics(self, query: str, expired: Callable[[], bool] = lambda: False) -> frozenset[str]:
        """The metric names of ``reads(query)``."""
        return self.reads(query, expired).metrics

    def reads(self, query: str, expired: Callable[[], bool] = lambda: False) -> QueryReads:
        """Raises ``InvalidPromQL`` when ``query`` is not PromQL the parser takes, or (``too_costly``) when
        matching its regexes is still going when ``expired()`` says so. The same text gives the same object
        (cached)."""
        found = self._queries.get(query)
        if found is None:
            if len(self._queries) >= _QUERIES_KEPT:
                self._queries.clear()
            metrics: set[str] = set()
            labels: set[tuple[str, str]] = set()
            for exact, patterns, keys in selector_reads(query):
                matched = {name for name in exact if name in self._names}
                for pattern in patterns:
                    matched |= self._matching(pattern, expired)
                metrics |= matched
                labels.update((metric, key) for metric in matched for key in keys)
            found = self._queries[query] = QueryReads(frozenset(metrics), frozenset(labels), query)
        return found

    def known(self, query: str) -> QueryReads | None:
        """What ``reads(query)`` answered before, if it did (the cache alone, no parsing)."""
        return self._queries.get(query)

    def named(self, query: str) -> QueryReads:
        """The census names ``query`` spells out bare, read without the parser (for a query it refused): each
        with every label read, since which ones it reads is unknown."""
        metrics = frozenset(name for name in names(query) if name in self._names)
        found = self._queries[query] = QueryReads(metrics, frozenset((m, EVERY) for m in metrics), query)
        return found

    def _matching(self, pattern: str, expired: Callable[[], bool]) -> frozenset[str]:
        if pattern not in self._regexes:
            try:
                regex = prometheus_regex(pattern)
            except ValueError:
                self._regexes[pattern] = frozenset()
                return frozenset()
            if self._index is None:
                self._index = NameIndex(self._names)
            try:
                self._regexes[pattern] = frozenset(self._index.matching(regex, expired))
            except TimeoutError:
                raise InvalidPromQL("its regexes take too long to match against the census", "too_costly") from None
        return self._regexes[pattern]


@functools.lru_cache(maxsize=16_384)
def selector_reads(query: str) -> tuple[tuple[frozenset[str], tuple[str, ...], Keys], ...]:
    """Per selector of ``query``: (exact metric names, ``__name__`` regexes, the label keys read of it)."""
    out = []
    for node, keys in label_reads(parse(query)):
        exact = {node.name} if node.name else set()
        patterns: list[str] = []
        for m in node.matchers.matchers:
            if m.name != "__name__":
                continue
            if m.op == promql_parser.MatchOp.Equal:
                exact.add(m.value)
            elif m.op == promql_parser.MatchOp.Re and m.value not in patterns:
                patterns.append(m.value)
        out.append((frozenset(exact), tuple(patterns), keys))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LogState:
    """The reader's stored position, and how much of the log it has seen."""

    position: LogPosition
    covered_since: datetime | None
    """The earliest query of the log when it was first read: usage is known from here on."""
    last_entry_at: datetime | None
    lines: int
    own_lines: int
    failures: int
    behind_bytes: int
    read_at: datetime


@dataclass(frozen=True, slots=True)
class MetricReads:
    """How often a metric was read over some days, and when last."""

    api: int = 0
    rule: int = 0
    last_api: datetime | None = None
    last_rule: datetime | None = None

    @property
    def last(self) -> datetime | None:
        times = [t for t in (self.last_api, self.last_rule) if t is not None]
        return max(times) if times else None

    def plus(self, other: MetricReads) -> MetricReads:
        return MetricReads(
            self.api + other.api, self.rule + other.rule, _later(self.last_api, other.last_api),
            _later(self.last_rule, other.last_rule),
        )  # fmt: skip


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)

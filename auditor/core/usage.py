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
from auditor.core.promql_parse import names, parse, vector_selectors
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
    _pending: dict[tuple[date, QueryKind, frozenset[str]], list[Any]] = field(default_factory=dict, repr=False)
    _counts: dict[tuple[date, str, QueryKind], int] = field(default_factory=dict, repr=False)
    _last: dict[tuple[date, str, QueryKind], datetime] = field(default_factory=dict, repr=False)

    def skip(self, reason: Skip) -> None:
        self.failures += 1
        self.skipped[reason] += 1

    def credit(self, metrics: frozenset[str], kind: QueryKind, at: datetime) -> None:
        """One query that read ``metrics``. Kept per distinct set until read: a line costs the same whether
        its query reads one metric or a regex's hundred."""
        key = (at.date(), kind, metrics)
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

    def _spread(self) -> None:
        for (day, kind, metrics), (n, at) in self._pending.items():
            for metric in metrics:
                key = (day, metric, kind)
                self._counts[key] = self._counts.get(key, 0) + n
                if key not in self._last or at > self._last[key]:
                    self._last[key] = at
        self._pending.clear()


class Credit:
    """Metric names a query reads, against the names of one census (regexes are matched against them)."""

    def __init__(self, names: Iterable[str]) -> None:
        self._names = frozenset(names)
        self._index: NameIndex | None = None
        """Built at the first regex: most lines name their metrics."""
        self._regexes: dict[str, frozenset[str]] = {}
        self._queries: dict[str, frozenset[str]] = {}

    def metrics(self, query: str, expired: Callable[[], bool] = lambda: False) -> frozenset[str]:
        """Raises ``InvalidPromQL`` when ``query`` is not PromQL the parser takes, or (``too_costly``) when
        matching its regexes is still going when ``expired()`` says so. The same text gives the same set
        object (cached)."""
        found = self._queries.get(query)
        if found is None:
            if len(self._queries) >= _QUERIES_KEPT:
                self._queries.clear()
            exact, patterns = selectors(query)
            matched = {name for name in exact if name in self._names}
            for pattern in patterns:
                matched |= self._matching(pattern, expired)
            found = self._queries[query] = frozenset(matched)
        return found

    def known(self, query: str) -> frozenset[str] | None:
        """What ``metrics(query)`` answered before, if it did (the cache alone, no parsing)."""
        return self._queries.get(query)

    def named(self, query: str) -> frozenset[str]:
        """The census names ``query`` spells out bare, read without the parser (for a query it refused)."""
        return frozenset(name for name in names(query) if name in self._names)

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
def selectors(query: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(exact metric names, ``__name__`` regexes) of a query's selectors; cached: dashboards repeat themselves."""
    exact: set[str] = set()
    patterns: list[str] = []
    for node in vector_selectors(parse(query)):
        if node.name:
            exact.add(node.name)
        for m in node.matchers.matchers:
            if m.name != "__name__":
                continue
            if m.op == promql_parser.MatchOp.Equal:
                exact.add(m.value)
            elif m.op == promql_parser.MatchOp.Re and m.value not in patterns:
                patterns.append(m.value)
    return frozenset(exact), tuple(patterns)


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

"""Rule sets, normalised so that versions compare by meaning (files are read by ``auditor.config.rulefiles``).

    live = from_loaded(client.rules(), evaluation_interval=60.0)
    desired.with_default_interval(60.0).fingerprint() == live.fingerprint()

Every expression is parsed with promql-parser and kept in its canonical print, so
``sum(x) by (a)`` equals ``sum by (a) (x)`` and a file's text equals the ``query`` Prometheus
re-prints. Group labels (Prometheus 3.x) are merged into each rule's labels, as Prometheus does.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import promql_parser

from auditor.core.domain import LoadedRuleGroup
from auditor.core.durations import format_duration
from auditor.core.errors import InvalidPromQL
from auditor.core.promql_parse import names, parse, vector_selectors


class RuleKind(StrEnum):
    RECORD = "record"
    ALERT = "alert"


RECORD, ALERT = RuleKind.RECORD, RuleKind.ALERT


@dataclass(frozen=True, slots=True)
class Rule:
    group: str
    kind: RuleKind
    """``record`` or ``alert``."""
    name: str
    expr: str
    """Canonical print of the parsed expression."""
    labels: dict[str, str] = field(default_factory=dict)
    for_: str = ""
    """An alerting rule's ``for``, in its shortest spelling; empty when zero or unset."""
    annotations: dict[str, str] = field(default_factory=dict)
    where: str = ""
    """``FILE:LINE`` of the rule, when it came from a file."""
    keep_firing_for: str = ""
    """An alerting rule's ``keep_firing_for`` (Prometheus 2.42+), like ``for_``."""

    def inputs(self) -> list[str]:
        """Metric names the expression reads."""
        return input_metrics(self.expr)

    def comparable(self) -> dict[str, Any]:
        """What a rule means; ``keep_firing_for`` only when set, so sets without it keep their fingerprint."""
        fields = {"expr": self.expr, "labels": self.labels, "for": self.for_, "annotations": self.annotations}
        if self.keep_firing_for:
            fields["keep_firing_for"] = self.keep_firing_for
        return fields


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    rules: tuple[Rule, ...]
    interval: float | None = None
    """Seconds; None when the file leaves it to the global ``evaluation_interval``."""
    limit: int = 0
    file: str = ""
    """The file the group is defined in: Prometheus keys groups by file and name."""
    query_offset: float | None = None
    """Seconds (Prometheus 2.53+); None when unset, or unknown (``/api/v1/rules`` does not report it)."""


@dataclass(frozen=True)
class RuleSet:
    groups: tuple[Group, ...]
    description: str = ""
    loaded: bool = False
    """The rules a server loaded (``live``, or a stored live version): every group's interval is the one it ran at."""
    evaluation_interval: float | None = None
    """A loaded set's server-wide ``evaluation_interval`` (seconds) at the time, when it could be read."""

    def rules(self) -> list[Rule]:
        return [rule for group in self.groups for rule in group.rules]

    def group_of(self, rule: Rule) -> Group | None:
        """The group holding this very rule (group names repeat across files)."""
        return next((g for g in self.groups if any(r is rule for r in g.rules)), None)

    def with_default_interval(self, seconds: float) -> RuleSet:
        """Groups without an interval get the server's global ``evaluation_interval``."""
        groups = tuple(replace(g, interval=seconds) if g.interval is None else g for g in self.groups)
        return replace(self, groups=groups)

    def without_query_offsets(self) -> RuleSet:
        """Compared with a loaded set, whose offsets Prometheus does not report."""
        return replace(self, groups=tuple(replace(g, query_offset=None) for g in self.groups))

    def only(self, kinds: Iterable[str]) -> RuleSet:
        wanted = set(kinds)
        groups = tuple(replace(g, rules=tuple(r for r in g.rules if r.kind in wanted)) for g in self.groups)
        return replace(self, groups=tuple(g for g in groups if g.rules))

    def to_json(self, *, files: bool = False) -> dict[str, Any]:
        """Canonical form: the same rules give the same document, whatever the files or their order."""
        groups = [_group_json(g, files) for g in self.groups]
        return {"groups": sorted(groups, key=lambda g: (g["name"], json.dumps(g, sort_keys=True)))}

    def fingerprint(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _group_json(group: Group, files: bool) -> dict[str, Any]:
    rules = [{"kind": r.kind, "name": r.name, **r.comparable()} for r in group.rules]
    document: dict[str, Any] = {
        "name": group.name,
        "interval": group.interval,
        "limit": group.limit,
        "rules": sorted(rules, key=lambda r: (r["kind"], r["name"], r["expr"], json.dumps(r, sort_keys=True))),
    }
    if group.query_offset is not None:
        document["query_offset"] = group.query_offset
    if files:
        document["file"] = group.file
    return document


@functools.lru_cache(maxsize=65_536)
def normalise(expr: str) -> str:
    """Canonical print of a PromQL expression; raises ``ValueError`` when it does not parse.

    >>> normalise("sum(x) by (a)") == normalise("sum by (a) (x)")
    True
    """
    return " ".join(parse(expr).prettify().split())


def input_metrics(expr: str) -> list[str]:
    """Metric names read by ``expr``, in order of appearance.

    An expression the parser refuses reads every bare name of its text (``promql_parse.names``): a reader
    is never lost to a query the parser cannot take.

    >>> input_metrics('sum(rate(http_requests_total[5m])) / on() group_left {__name__="up"}')
    ['http_requests_total', 'up']
    """
    try:
        tree = parse(expr)
    except InvalidPromQL:
        return names(expr)
    found: list[str] = []
    for node in vector_selectors(tree):
        name = node.name or next(
            (m.value for m in node.matchers.matchers if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal),
            None,
        )
        if name and name not in found:
            found.append(name)
    return found


def align(files: RuleSet, live: RuleSet, interval: float | None) -> tuple[RuleSet, RuleSet]:
    """Make a rule set from files comparable with a live one.

    Groups without an interval run at the server's global ``evaluation_interval`` (when known); and when
    the files hold only recording rules, the alerting rules Prometheus loaded from elsewhere are left out.
    A group's ``query_offset`` is not compared: ``/api/v1/rules`` does not report it.
    """
    kinds = {rule.kind for rule in files.rules()} or {RECORD}
    files = files.without_query_offsets()
    if interval is not None:
        files = files.with_default_interval(interval)
    return files, live.only(kinds)


def comparable(old: RuleSet, new: RuleSet, interval: float | None = None) -> tuple[RuleSet, RuleSet]:
    """Two versions, made to compare as Prometheus runs them.

    A loaded set (live, or stored from live) carries its server's global interval of the time: files
    compared with it take that interval for groups without one, and only the rule kinds they hold are
    compared. ``interval`` (a server at hand) stands in where a loaded set does not know its own, and
    sets the unset groups when two sets of files are compared.
    """
    if new.loaded and not old.loaded:
        old, new = align(old, new, _first(new.evaluation_interval, interval))
    elif old.loaded and not new.loaded:
        new, old = align(new, old, _first(old.evaluation_interval, interval))
    elif not old.loaded and not new.loaded and interval is not None:
        old, new = old.with_default_interval(interval), new.with_default_interval(interval)
    return old, new


def _first(*values: float | None) -> float | None:
    return next((value for value in values if value is not None), None)


def from_loaded(
    groups: Sequence[LoadedRuleGroup], description: str = "live", evaluation_interval: float | None = None
) -> RuleSet:
    """The rule set Prometheus reports (``/api/v1/rules``), normalised like a file."""
    out = []
    for group in groups:
        rules = tuple(
            Rule(
                group.name,
                RECORD if r.type == "recording" else ALERT,
                r.name,
                _normalise_live(r.query),
                dict(r.labels),
                format_duration_seconds(r.duration_seconds),
                dict(r.annotations),
                keep_firing_for=format_duration_seconds(r.keep_firing_for_seconds),
            )
            for r in group.rules
        )
        out.append(Group(group.name, rules, group.interval_seconds, group.limit, group.file))
    return RuleSet(tuple(out), description, loaded=True, evaluation_interval=evaluation_interval)


def _normalise_live(query: str) -> str:
    try:
        return normalise(query)
    except ValueError:
        return query  # a newer server may print syntax this parser does not know: compare as text


def format_duration_seconds(seconds: float) -> str:
    return format_duration(timedelta(seconds=seconds)) if seconds else ""


def from_json(document: dict[str, Any], description: str) -> RuleSet:
    """The inverse of ``stored_body`` (stored live versions; older ones lack the interval and the files)."""
    groups = tuple(
        Group(
            g["name"],
            tuple(_rule_from_json(g["name"], r) for r in g["rules"]),
            g["interval"],
            g["limit"],
            g.get("file", ""),
        )
        for g in document["groups"]
    )
    return RuleSet(groups, description, loaded=True, evaluation_interval=document.get("evaluation_interval"))


def _rule_from_json(group: str, r: dict[str, Any]) -> Rule:
    keep = r.get("keep_firing_for", "")
    kind = RuleKind(r["kind"])
    return Rule(group, kind, r["name"], r["expr"], r["labels"], r["for"], r["annotations"], keep_firing_for=keep)


def stored_body(ruleset: RuleSet) -> dict[str, Any]:
    """What a stored live version keeps: the canonical rules, their files and the global interval they ran under."""
    return ruleset.to_json(files=True) | {"evaluation_interval": ruleset.evaluation_interval}


@dataclass(frozen=True, slots=True)
class StoredRuleVersion:
    """One version of a source's loaded rules: a rule set, from when it was first seen to when last."""

    id: int
    fingerprint: str
    first_seen: datetime
    last_seen: datetime
    rules: int

"""Semantic diff of two rule sets: rule by rule, matched by meaning, never by position alone.

    result = diff(old, new)
    result.added, result.removed, result.changed, result.unchanged
    result.changed[0].changes          # ('expr', 'labels') ...

Rules are matched in rounds, each on what is left by the one before:

1. the same group (file and name) and the same rule name: identical rules first, then the same labels,
   then the same expression, then in order. Several rules may share a name in one group (one record per
   ``quantile``, one alert per ``severity``), so the name alone does not identify a rule;
2. the same rule name in another group: the rule moved (``group``), matched by its whole meaning, then by
   its expression, then alone when the name left one group and arrived in one other;
3. the same group, expression, labels and annotations under a new name: renamed (``renamed``).

Reformatted PromQL is not a change: expressions are compared in their canonical print
(``auditor.core.rulesets.normalise``). A group name may repeat across files, as in Prometheus; such groups are
paired by the path of their files (``api/alerts.yml`` with ``/etc/prometheus/rules/api/alerts.yml``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath

from auditor.core.rulesets import RECORD, Group, Rule, RuleSet


@dataclass(frozen=True, slots=True)
class RuleChange:
    old: Rule
    new: Rule
    changes: tuple[str, ...]
    old_group: Group
    new_group: Group

    @property
    def renamed_from(self) -> str | None:
        return self.old.name if "renamed" in self.changes else None

    @property
    def moved_from(self) -> str | None:
        return self.old.group if "group" in self.changes else None


@dataclass(frozen=True, slots=True)
class Dependent:
    """A rule of the new set that reads a recorded metric the new set no longer produces."""

    rule: Rule
    missing: str


@dataclass(frozen=True)
class RulesDiff:
    old: RuleSet
    new: RuleSet
    added: list[Rule] = field(default_factory=list)
    removed: list[Rule] = field(default_factory=list)
    changed: list[RuleChange] = field(default_factory=list)
    unchanged: int = 0
    dependents: list[Dependent] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff(old: RuleSet, new: RuleSet) -> RulesDiff:
    olds, news = _entries(old, new)
    pairs: list[tuple[_Entry, _Entry]] = []
    for key in _SAME_GROUP:
        pairs += _pair(olds, news, key)
    for key in _MOVED:
        pairs += _pair(olds, news, key)
    # Moved whatever else changed: the name left exactly one group and arrived in exactly one other.
    pairs += _pair(olds, news, _unique(olds, news, lambda e: (e.rule.kind, e.rule.name)))
    # Renamed: the same group, kind and meaning under a new name, one on each side.
    pairs += _pair(olds, news, _unique(olds, news, lambda e: (e.gid, e.rule.kind, e.meaning)))
    compared = [_compare(a, b) for a, b in pairs]
    result = RulesDiff(
        old,
        new,
        added=_sorted(e.rule for e in news),
        removed=_sorted(e.rule for e in olds),
        changed=sorted((c for c in compared if c.changes), key=lambda c: (c.new.group, c.new.kind, c.new.name)),
        unchanged=sum(1 for c in compared if not c.changes),
    )
    return replace(result, dependents=_dependents(result))


@dataclass(frozen=True, slots=True)
class _Entry:
    rule: Rule
    group: Group
    gid: str
    """The group's identity across the two sets: its name, with its file where the name repeats."""
    meaning: str
    """The rule's comparable fields as canonical JSON: computed once, read by several matching rounds."""
    labels: str


def _entry(rule: Rule, group: Group, gid: str) -> _Entry:
    meaning = json.dumps(rule.comparable(), sort_keys=True)
    return _Entry(rule, group, gid, meaning, json.dumps(rule.labels, sort_keys=True))


Key = Callable[[_Entry], Hashable]

_SAME_GROUP: tuple[Key, ...] = (
    lambda e: (e.gid, e.rule.kind, e.rule.name, e.meaning),
    lambda e: (e.gid, e.rule.kind, e.rule.name, e.labels),
    lambda e: (e.gid, e.rule.kind, e.rule.name, e.rule.expr),
    lambda e: (e.gid, e.rule.kind, e.rule.name),
)
_MOVED: tuple[Key, ...] = (
    lambda e: (e.rule.kind, e.rule.name, e.meaning),
    lambda e: (e.rule.kind, e.rule.name, e.rule.expr),
)


def _unique(olds: list[_Entry], news: list[_Entry], key: Key) -> Key:
    """``key``, where it occurs exactly once on each side; a key of its own for every other entry."""
    counts = Counter(map(key, olds)), Counter(map(key, news))
    return lambda e: key(e) if all(c[key(e)] == 1 for c in counts) else id(e)


def _pair(olds: list[_Entry], news: list[_Entry], key: Key) -> list[tuple[_Entry, _Entry]]:
    """Pairs of entries with equal keys, in order of appearance; the paired ones leave both lists."""
    waiting: dict[Hashable, list[int]] = defaultdict(list)
    for index, entry in enumerate(news):
        waiting[key(entry)].append(index)
    pairs, left, taken = [], [], set()
    for entry in olds:
        queue = waiting.get(key(entry))
        if queue:
            taken.add(queue[0])
            pairs.append((entry, news[queue.pop(0)]))
        else:
            left.append(entry)
    olds[:] = left
    news[:] = [entry for index, entry in enumerate(news) if index not in taken]
    return pairs


def _entries(old: RuleSet, new: RuleSet) -> tuple[list[_Entry], list[_Entry]]:
    old_ids, new_ids = _group_ids(old.groups, new.groups)
    return (
        [_entry(r, g, gid) for g, gid in zip(old.groups, old_ids, strict=True) for r in g.rules],
        [_entry(r, g, gid) for g, gid in zip(new.groups, new_ids, strict=True) for r in g.rules],
    )


def _group_ids(old: tuple[Group, ...], new: tuple[Group, ...]) -> tuple[list[str], list[str]]:
    """Each group's identity: its name, or, where the name is in several files, name and a paired file.

    Groups of one name pair by the longest common tail of their file paths; one left unpaired keeps an
    identity of its own (its rules then match as moved, or as added and removed).
    """
    old_ids, new_ids = [g.name for g in old], [g.name for g in new]
    repeated = {n for side in (old, new) for n, count in Counter(g.name for g in side).items() if count > 1}
    for name in repeated:
        olds = [i for i, g in enumerate(old) if g.name == name]
        news = [i for i, g in enumerate(new) if g.name == name]
        for i in olds:
            old_ids[i] = f"{name}\x00old{i}"
        for j in news:
            new_ids[j] = f"{name}\x00new{j}"
        for i, j in _pair_files(olds, news, old, new):
            new_ids[j] = old_ids[i]
    return old_ids, new_ids


def _pair_files(
    olds: list[int], news: list[int], old: tuple[Group, ...], new: tuple[Group, ...]
) -> Iterator[tuple[int, int]]:
    scored = sorted(((_common_tail(old[i].file, new[j].file), i, j) for i in olds for j in news), key=lambda t: -t[0])
    used_old: set[int] = set()
    used_new: set[int] = set()
    for score, i, j in scored:
        if score and i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            yield i, j


def _common_tail(a: str, b: str) -> int:
    """How many trailing path parts two files share (``git:REV:`` and absolute prefixes do not matter)."""
    parts_a, parts_b = PurePosixPath(a.replace("\\", "/")).parts, PurePosixPath(b.replace("\\", "/")).parts
    count = 0
    while count < min(len(parts_a), len(parts_b)) and parts_a[-1 - count] == parts_b[-1 - count]:
        count += 1
    return count


def _compare(old: _Entry, new: _Entry) -> RuleChange:
    old_fields, new_fields = old.rule.comparable(), new.rule.comparable()
    changes = [name for name in {**old_fields, **new_fields} if old_fields.get(name) != new_fields.get(name)]
    for name in ("interval", "limit", "query_offset"):
        if getattr(old.group, name) != getattr(new.group, name):
            changes.append(name)
    if old.gid != new.gid:
        changes.append("group")
    if old.rule.name != new.rule.name:
        changes.append("renamed")
    return RuleChange(old.rule, new.rule, tuple(changes), old.group, new.group)


def _dependents(result: RulesDiff) -> list[Dependent]:
    produced = {rule.name for rule in result.new.rules() if rule.kind == RECORD}
    gone = {rule.name for rule in result.removed if rule.kind == RECORD}
    gone |= {c.old.name for c in result.changed if c.old.kind == RECORD and "renamed" in c.changes}
    gone -= produced
    if not gone:
        return []  # parsing every expression again is the dearest part of a large diff
    return [Dependent(rule, metric) for rule in result.new.rules() for metric in rule.inputs() if metric in gone]


def _sorted(rules: Iterator[Rule] | list[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.group, r.kind, r.name))

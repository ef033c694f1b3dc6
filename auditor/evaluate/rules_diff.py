"""Semantic diff of two rule sets: rule by rule, matched by group and name, never by position.

    result = diff(old, new)
    result.added, result.removed, result.changed, result.unchanged
    result.changed[0].changes          # ('expr', 'labels') ...

A rule that only moved to another group is ``changed`` with ``group``; one renamed in place with
the same expression and labels is ``changed`` with ``renamed``. Reformatted PromQL is not a change:
expressions are compared in their canonical print (``auditor.rulesets.normalise``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from auditor.rulesets import RECORD, Group, Rule, RuleSet

Key = tuple[str, str, str, int]
"""(group, kind, name, occurrence): alerting rules may share a name within a group."""


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
    old_index, new_index = _index(old), _index(new)
    changed, unchanged = [], 0
    for key in old_index.keys() & new_index.keys():
        change = _compare(old_index[key], new_index[key])
        if change.changes:
            changed.append(change)
        else:
            unchanged += 1
    removed = {k: old_index[k] for k in old_index.keys() - new_index.keys()}
    added = {k: new_index[k] for k in new_index.keys() - old_index.keys()}
    changed += list(_moves(removed, added))
    changed += list(_renames(removed, added))
    result = RulesDiff(
        old,
        new,
        added=_sorted(rule for rule, _ in added.values()),
        removed=_sorted(rule for rule, _ in removed.values()),
        changed=sorted(changed, key=lambda c: (c.new.group, c.new.kind, c.new.name)),
        unchanged=unchanged,
    )
    return replace(result, dependents=_dependents(result))


def _index(ruleset: RuleSet) -> dict[Key, tuple[Rule, Group]]:
    index: dict[Key, tuple[Rule, Group]] = {}
    for group in ruleset.groups:
        seen: Counter[tuple[str, str]] = Counter()
        for rule in group.rules:
            occurrence = seen[(rule.kind, rule.name)]
            seen[(rule.kind, rule.name)] += 1
            index[(group.name, rule.kind, rule.name, occurrence)] = (rule, group)
    return index


def _compare(old: tuple[Rule, Group], new: tuple[Rule, Group]) -> RuleChange:
    (old_rule, old_group), (new_rule, new_group) = old, new
    changes = [name for name, value in old_rule.comparable().items() if new_rule.comparable()[name] != value]
    if old_group.interval != new_group.interval:
        changes.append("interval")
    if old_group.limit != new_group.limit:
        changes.append("limit")
    if old_rule.group != new_rule.group:
        changes.append("group")
    if old_rule.name != new_rule.name:
        changes.append("renamed")
    return RuleChange(old_rule, new_rule, tuple(changes), old_group, new_group)


def _moves(removed: dict[Key, tuple[Rule, Group]], added: dict[Key, tuple[Rule, Group]]) -> Iterator[RuleChange]:
    """A rule whose (kind, name) left exactly one group and arrived in exactly one other moved."""
    gone = Counter((k[1], k[2]) for k in removed)
    came = Counter((k[1], k[2]) for k in added)
    for old_key in [k for k in removed if gone[(k[1], k[2])] == 1 and came[(k[1], k[2])] == 1]:
        new_key = next(k for k in added if (k[1], k[2]) == (old_key[1], old_key[2]))
        yield _compare(removed.pop(old_key), added.pop(new_key))


def _renames(removed: dict[Key, tuple[Rule, Group]], added: dict[Key, tuple[Rule, Group]]) -> Iterator[RuleChange]:
    """Same group, same kind, same expression, labels and annotations, new name: evidently renamed."""

    def signature(item: tuple[Rule, Group]) -> tuple[str, str, str]:
        rule = item[0]
        return rule.group, rule.kind, repr(sorted(rule.comparable().items()))

    old_by_sig: dict[tuple[str, str, str], list[Key]] = {}
    for key, item in removed.items():
        old_by_sig.setdefault(signature(item), []).append(key)
    new_by_sig: dict[tuple[str, str, str], list[Key]] = {}
    for key, item in added.items():
        new_by_sig.setdefault(signature(item), []).append(key)
    for sig, old_keys in old_by_sig.items():
        new_keys = new_by_sig.get(sig, [])
        if len(old_keys) == 1 and len(new_keys) == 1:
            yield _compare(removed.pop(old_keys[0]), added.pop(new_keys[0]))


def _dependents(result: RulesDiff) -> list[Dependent]:
    produced = {rule.name for rule in result.new.rules() if rule.kind == RECORD}
    gone = {rule.name for rule in result.removed if rule.kind == RECORD}
    gone |= {c.old.name for c in result.changed if c.old.kind == RECORD and "renamed" in c.changes}
    gone -= produced
    return [Dependent(rule, metric) for rule in result.new.rules() for metric in rule.inputs() if metric in gone]


def _sorted(rules: Iterator[Rule] | list[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (r.group, r.kind, r.name))

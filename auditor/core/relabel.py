"""Prometheus' relabeling, as ``metric_relabel_configs`` applies it to each scraped sample (docs/plan.md).

    rules = [Rule(Action.LABELDROP, regex=prometheus_regex("pod_ip"))]
    apply({"__name__": "up", "pod_ip": "10.0.0.1"}, rules)     # {"__name__": "up"}
    apply({"__name__": "x"}, [Rule(Action.DROP, ("__name__",), regex=prometheus_regex("x"))])   # None: dropped

The semantics are Prometheus' own (``model/relabel/relabel.go``), checked case by case against real 2.42 and 3.5
servers scraping the same exposition with the same rules (``tests/test_relabel_live.py``):

- the source labels' values (a missing label is "") joined by ``separator`` are matched by ``regex``,
  anchored at both ends;
- ``replace`` sets ``target_label`` (itself expanded) to the expanded ``replacement`` when the regex matches,
  and removes it when that is empty; no match changes nothing;
- ``$1``, ``${1}``, ``$name``, ``${name}`` expand as Go's ``Regexp.Expand`` does: a ``$`` name takes every
  letter, digit and underscore that follows (``$1x`` is the group named ``1x``, empty), ``$$`` is ``$``;
- ``hashmod`` is the last 8 bytes of the MD5 of the value, big-endian, modulo ``modulus``;
- setting a label to "" removes it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from auditor.core.regex import PrometheusRegex, prometheus_regex

DEFAULT_REGEX = "(.*)"


class Action(StrEnum):
    REPLACE = "replace"
    KEEP = "keep"
    DROP = "drop"
    KEEPEQUAL = "keepequal"
    DROPEQUAL = "dropequal"
    HASHMOD = "hashmod"
    LABELMAP = "labelmap"
    LABELDROP = "labeldrop"
    LABELKEEP = "labelkeep"
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"


@dataclass(frozen=True)
class Rule:
    action: Action = Action.REPLACE
    source_labels: tuple[str, ...] = ()
    separator: str = ";"
    regex: PrometheusRegex = field(default_factory=lambda: prometheus_regex(DEFAULT_REGEX))
    target_label: str = ""
    replacement: str = "$1"
    modulus: int = 0


Labels = dict[str, str]


def apply(labels: Mapping[str, str], rules: Sequence[Rule], *, utf8_names: bool = True) -> Labels | None:
    """The labels after every rule in order; None when a rule drops the sample.

    ``utf8_names``: a ``replace`` whose expanded target is not a valid label name changes nothing; Prometheus 3
    takes any UTF-8 name, 2.x only ``[a-zA-Z_][a-zA-Z0-9_]*``.
    """
    out = dict(labels)
    for rule in rules:
        if not _one(rule, out, utf8_names):
            return None
    return out


def _one(rule: Rule, out: Labels, utf8_names: bool) -> bool:
    value = rule.separator.join(out.get(name, "") for name in rule.source_labels)
    action = rule.action
    if action in (Action.DROP, Action.KEEP):
        return rule.regex.fullmatch(value) is (action is Action.KEEP)
    if action in (Action.DROPEQUAL, Action.KEEPEQUAL):
        return (out.get(rule.target_label, "") == value) is (action is Action.KEEPEQUAL)
    if action is Action.REPLACE:
        _replace(rule, out, value, utf8_names)
    elif action in (Action.LOWERCASE, Action.UPPERCASE):
        _set(out, rule.target_label, value.lower() if action is Action.LOWERCASE else value.upper())
    elif action is Action.HASHMOD:
        digest = hashlib.md5(value.encode(), usedforsecurity=False).digest()
        _set(out, rule.target_label, str(int.from_bytes(digest[8:], "big") % rule.modulus))
    else:
        _by_name(rule, out)
    return True


def _replace(rule: Rule, out: Labels, value: str, utf8_names: bool) -> None:
    groups = rule.regex.groups(value)
    if groups is None:
        return
    names = rule.regex.group_names()
    target = expand(rule.target_label, groups, names)
    if not valid_name(target, utf8_names):
        return
    _set(out, target, expand(rule.replacement, groups, names))


def _by_name(rule: Rule, out: Labels) -> None:
    """``labelmap``, ``labeldrop``, ``labelkeep``: the regex matches label names."""
    for name, value in list(out.items()):
        groups = _name_groups(rule.regex, name)
        if rule.action is Action.LABELMAP:
            if groups is not None:
                _set(out, expand(rule.replacement, groups, rule.regex.group_names()), value)
        elif (rule.action is Action.LABELDROP) is (groups is not None):
            del out[name]


@functools.lru_cache(maxsize=8192)
def _name_groups(regex: PrometheusRegex, name: str) -> tuple[str | None, ...] | None:
    """A label name's match: the same few names come with every series, so each is matched once."""
    groups = regex.groups(name)
    return None if groups is None else tuple(groups)


def _set(out: Labels, name: str, value: str) -> None:
    if value:
        out[name] = value
    else:
        out.pop(name, None)


def expand(template: str, groups: Sequence[str | None], names: Mapping[str, int]) -> str:
    """Go's ``Regexp.ExpandString``: ``$1``, ``${1}``, ``$name``, ``${name}``, ``$$``; a malformed ``$`` stays."""
    out, i = [], 0
    while i < len(template):
        j = template.find("$", i)
        if j < 0:
            break
        out.append(template[i:j])
        if template.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        name, end = _reference(template, j + 1)
        if name is None:
            out.append("$")
            i = j + 1
            continue
        index = int(name) if name.isdigit() else names.get(name, -1)
        out.append((groups[index] or "") if 0 <= index < len(groups) else "")
        i = end
    out.append(template[i:])
    return "".join(out)


def _reference(template: str, start: int) -> tuple[str | None, int]:
    """The name after a ``$`` (``{name}`` or the longest run of word characters) and where it ends."""
    if template.startswith("{", start):
        close = template.find("}", start)
        name = template[start + 1 : close] if close > 0 else ""
        return (name, close + 1) if name and all(_word(c) for c in name) else (None, start)
    end = start
    while end < len(template) and _word(template[end]):
        end += 1
    return (template[start:end], end) if end > start else (None, start)


def _word(ch: str) -> bool:
    return ch == "_" or ("0" <= ch <= "9") or ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def valid_name(name: str, utf8_names: bool) -> bool:
    if not name:
        return False
    if utf8_names:
        return True
    return (_word(name[0]) and not name[0].isdigit()) and all(_word(c) for c in name)

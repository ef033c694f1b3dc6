"""Rule sets: Prometheus rule files, normalised so that versions compare by meaning.

    desired = load_path(Path("rules/recording"))          # a file or a directory of rule files
    live = from_loaded(client.rules(), default_interval=60.0)
    desired.with_default_interval(60.0).fingerprint() == live.fingerprint()

Every expression is parsed with promql-parser and kept in its canonical print, so
``sum(x) by (a)`` equals ``sum by (a) (x)`` and a file's text equals the ``query`` Prometheus
re-prints. Group labels (Prometheus 3.x) are merged into each rule's labels, as Prometheus does.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import promql_parser
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from auditor.domain import LoadedRuleGroup
from auditor.durations import format_duration, parse_duration
from auditor.errors import ConfigError, RuleError
from auditor.yamlfile import YamlDocument, load_yaml, parse_yaml, validation_messages

RULE_SUFFIXES = (".yml", ".yaml")
RECORD = "record"
ALERT = "alert"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RuleModel(_Strict):
    record: str | None = Field(None, min_length=1)
    alert: str | None = Field(None, min_length=1)
    expr: str | int | float
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    for_: str | None = Field(None, alias="for")
    keep_firing_for: str | None = None

    @model_validator(mode="after")
    def _record_or_alert(self) -> _RuleModel:
        if (self.record is None) == (self.alert is None):
            raise ValueError("each rule needs exactly one of `record` or `alert`")
        if self.record is not None and (self.annotations or self.for_):
            raise ValueError("a recording rule takes no `for` or `annotations`")
        return self


class _GroupModel(_Strict):
    name: str = Field(min_length=1)
    interval: str | None = None
    limit: int = Field(0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    query_offset: str | None = None
    rules: list[_RuleModel] = Field(default_factory=list)


class _FileModel(_Strict):
    groups: list[_GroupModel] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rule:
    group: str
    kind: str
    """``record`` or ``alert``."""
    name: str
    expr: str
    """Canonical print of the parsed expression."""
    labels: dict[str, str] = field(default_factory=dict)
    for_: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    where: str = ""
    """``FILE:LINE`` of the rule, when it came from a file."""

    def inputs(self) -> list[str]:
        """Metric names the expression reads."""
        return input_metrics(self.expr)

    def comparable(self) -> dict[str, Any]:
        return {"expr": self.expr, "labels": self.labels, "for": self.for_, "annotations": self.annotations}


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    rules: tuple[Rule, ...]
    interval: float | None = None
    """Seconds; None when the file leaves it to the global ``evaluation_interval``."""
    limit: int = 0
    file: str = ""


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

    def group(self, name: str) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    def with_default_interval(self, seconds: float) -> RuleSet:
        """Groups without an interval get the server's global ``evaluation_interval``."""
        groups = tuple(replace(g, interval=seconds) if g.interval is None else g for g in self.groups)
        return replace(self, groups=groups)

    def only(self, kinds: Iterable[str]) -> RuleSet:
        wanted = set(kinds)
        groups = tuple(replace(g, rules=tuple(r for r in g.rules if r.kind in wanted)) for g in self.groups)
        return replace(self, groups=tuple(g for g in groups if g.rules))

    def to_json(self) -> dict[str, Any]:
        """Canonical form: the same rules give the same document, whatever the files or their order."""
        groups = sorted(self.groups, key=lambda g: g.name)
        return {
            "groups": [
                {
                    "name": g.name,
                    "interval": g.interval,
                    "limit": g.limit,
                    "rules": [
                        {"kind": r.kind, "name": r.name, **r.comparable()}
                        for r in sorted(g.rules, key=lambda r: (r.kind, r.name, r.expr))
                    ],
                }
                for g in groups
            ]
        }

    def fingerprint(self) -> str:
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def normalise(expr: str) -> str:
    """Canonical print of a PromQL expression; raises ``ValueError`` when it does not parse.

    >>> normalise("sum(x) by (a)") == normalise("sum by (a) (x)")
    True
    """
    return " ".join(promql_parser.parse(expr).prettify().split())


def input_metrics(expr: str) -> list[str]:
    """Metric names read by ``expr``, in order of appearance.

    >>> input_metrics('sum(rate(http_requests_total[5m])) / on() group_left {__name__="up"}')
    ['http_requests_total', 'up']
    """
    names: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or next(
                (
                    m.value
                    for m in node.matchers.matchers
                    if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal
                ),
                None,
            )
            if name and name not in names:
                names.append(name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def load_path(path: Path) -> RuleSet:
    """A rule file, or every ``*.yml``/``*.yaml`` file below a directory (sorted)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in RULE_SUFFIXES)
        if not files:
            raise RuleError(f"{path}: no rule files (*.yml, *.yaml) in this directory")
    elif path.is_file():
        files = [path]
    else:
        raise RuleError(f"{path}: no such file or directory")
    return _merge([_load_file(f) for f in files], str(path))


def load_git(spec: str, repo: Path | None = None) -> RuleSet:
    """``git:REV:PATH``: the rule files of PATH at revision REV, read with ``git show`` (no checkout)."""
    _, rev, path = git_spec(spec)
    listing = _git(repo, "ls-tree", "-r", "--name-only", rev, "--", path)
    files = sorted(f for f in listing.splitlines() if f.endswith(RULE_SUFFIXES))
    if not files:
        raise RuleError(f"{spec}: no rule files at {path} in revision {rev}")
    return _merge([_parse_file(_git(repo, "show", f"{rev}:{f}"), f"{rev}:{f}") for f in files], spec)


def git_spec(spec: str) -> tuple[str, str, str]:
    """``git:REV:PATH`` split in three; a ``ConfigError`` when it is not of that form."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ConfigError(f"{spec!r}: use git:REV:PATH, for example git:main:rules/recording/")
    return parts[0], parts[1], parts[2]


def _git(repo: Path | None, *args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60, check=False)
    except OSError as exc:
        raise RuleError(f"cannot run git: {exc}") from exc
    if result.returncode != 0:
        raise RuleError(f"git {' '.join(args)}: {result.stderr.strip() or 'failed'}")
    return result.stdout


def _load_file(path: Path) -> RuleSet:
    return _from_document(load_yaml(path, error=RuleError), str(path))


def _parse_file(text: str, name: str) -> RuleSet:
    return _from_document(parse_yaml(text, Path(name), RuleError), name)


def _from_document(doc: YamlDocument, name: str) -> RuleSet:
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise RuleError(f"{name}:1: a rule file is a mapping with `groups`")
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        raise RuleError("\n".join(validation_messages(exc, doc))) from exc
    errors: list[str] = []
    groups = tuple(_group(doc, index, g, name, errors) for index, g in enumerate(model.groups))
    if errors:
        raise RuleError("\n".join(errors))
    return RuleSet(groups, name)


def _group(doc: YamlDocument, gi: int, model: _GroupModel, name: str, errors: list[str]) -> Group:
    rules = []
    records: dict[str, str] = {}
    for ri, rule in enumerate(model.rules):
        where = doc.where(("groups", gi, "rules", ri))
        try:
            expr = normalise(str(rule.expr))
        except ValueError as exc:
            errors.append(f"{doc.where(('groups', gi, 'rules', ri, 'expr'))}: invalid PromQL: {exc}")
            continue
        if rule.record is not None:
            if rule.record in records:
                first = records[rule.record]
                errors.append(f"{where}: duplicate record {rule.record!r} in group {model.name!r} (first at {first})")
            records.setdefault(rule.record, where)
        kind, rule_name = (RECORD, rule.record) if rule.record is not None else (ALERT, str(rule.alert))
        for_ = format_duration(parse_duration(rule.for_)) if rule.for_ else ""
        labels = model.labels | rule.labels
        rules.append(Rule(model.name, kind, rule_name, expr, labels, for_, dict(rule.annotations), where))
    interval = _interval(doc, gi, model.interval, errors)
    return Group(model.name, tuple(rules), interval, model.limit, name)


def _interval(doc: YamlDocument, gi: int, text: str | None, errors: list[str]) -> float | None:
    if text is None:
        return None
    try:
        return parse_duration(text).total_seconds()
    except ValueError as exc:
        errors.append(f"{doc.where(('groups', gi, 'interval'))}: groups.{gi}.interval: {exc}")
        return None


def _merge(sets: Sequence[RuleSet], description: str) -> RuleSet:
    """One rule set from several files; a group name defined twice is an error, as in Prometheus."""
    seen: dict[str, str] = {}
    groups: list[Group] = []
    for ruleset in sets:
        for group in ruleset.groups:
            if group.name in seen:
                raise RuleError(f"{group.file}: group {group.name!r} is already defined in {seen[group.name]}")
            seen[group.name] = group.file
            groups.append(group)
    return RuleSet(tuple(groups), description)


def align(files: RuleSet, live: RuleSet, interval: float | None) -> tuple[RuleSet, RuleSet]:
    """Make a rule set from files comparable with a live one.

    Groups without an interval run at the server's global ``evaluation_interval`` (when known); and when
    the files hold only recording rules, the alerting rules Prometheus loaded from elsewhere are left out.
    """
    kinds = {rule.kind for rule in files.rules()} or {RECORD}
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
    """The inverse of ``stored_body`` (stored live versions; older ones lack the interval)."""
    groups = tuple(
        Group(
            g["name"],
            tuple(
                Rule(g["name"], r["kind"], r["name"], r["expr"], r["labels"], r["for"], r["annotations"])
                for r in g["rules"]
            ),
            g["interval"],
            g["limit"],
        )
        for g in document["groups"]
    )
    return RuleSet(groups, description, loaded=True, evaluation_interval=document.get("evaluation_interval"))


def stored_body(ruleset: RuleSet) -> dict[str, Any]:
    """What a stored live version keeps: the canonical rules and the global interval they ran under."""
    return ruleset.to_json() | {"evaluation_interval": ruleset.evaluation_interval}

"""Rule sets: Prometheus rule files, normalised so that versions compare by meaning.

    desired = load_path(Path("rules/recording"))          # a file or a directory of rule files
    live = from_loaded(client.rules(), default_interval=60.0)
    desired.with_default_interval(60.0).fingerprint() == live.fingerprint()

Every expression is parsed with promql-parser and kept in its canonical print, so
``sum(x) by (a)`` equals ``sum by (a) (x)`` and a file's text equals the ``query`` Prometheus
re-prints. Group labels (Prometheus 3.x) are merged into each rule's labels, as Prometheus does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import promql_parser
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from auditor.domain import LoadedRuleGroup
from auditor.durations import format_duration, parse_duration
from auditor.errors import ConfigError, RuleError
from auditor.promql import raw_strings_quoted
from auditor.yamlfile import YamlDocument, load_yaml, parse_yaml, validation_messages

RULE_SUFFIXES = (".yml", ".yaml")
RECORD = "record"
ALERT = "alert"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _null_as_empty(value: object) -> object:
    """Go decodes a YAML null into an empty string, as Prometheus reads it."""
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_null_as_empty)]
TextMap = Annotated[dict[Text, Text], BeforeValidator(lambda v: {} if v is None else v)]


class _RuleModel(_Strict):
    record: Text = ""
    alert: Text = ""
    expr: Text = ""
    labels: TextMap = Field(default_factory=dict)
    annotations: TextMap = Field(default_factory=dict)
    for_: str | None = Field(None, alias="for")
    keep_firing_for: str | None = None


class _GroupModel(_Strict):
    name: Text = ""
    interval: str | None = None
    limit: Annotated[int, BeforeValidator(lambda v: 0 if v is None else v)] = 0
    labels: TextMap = Field(default_factory=dict)
    query_offset: str | None = None
    rules: Annotated[list[_RuleModel], BeforeValidator(lambda v: [] if v is None else v)] = Field(default_factory=list)


class _FileModel(_Strict):
    groups: Annotated[list[_GroupModel], BeforeValidator(lambda v: [] if v is None else v)] = Field(
        default_factory=list
    )


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
    return " ".join(promql_parser.parse(raw_strings_quoted(expr)).prettify().split())


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

    promql_parser.walk(promql_parser.parse(raw_strings_quoted(expr)), visit)
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
    return _from_document(load_yaml(path, error=RuleError, text_scalars=True), str(path))


def _parse_file(text: str, name: str) -> RuleSet:
    return _from_document(parse_yaml(text, Path(name), RuleError, text_scalars=True), name)


def _from_document(doc: YamlDocument, name: str) -> RuleSet:
    """One file's groups, checked as Prometheus checks them: every problem is reported, with its line."""
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise RuleError(f"{name}:1: a rule file is a mapping with `groups`")
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        raise RuleError("\n".join(validation_messages(exc, doc))) from exc
    checker = _Checker(doc)
    groups = tuple(checker.group(index, g, name) for index, g in enumerate(model.groups))
    if checker.errors:
        raise RuleError("\n".join(checker.errors))
    return RuleSet(groups, name)


class _Checker:
    """Builds one file's groups and collects what Prometheus would refuse in it, each at its line."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.errors: list[str] = []
        self._names: dict[str, int] = {}

    def problem(self, loc: tuple[int | str, ...], message: str) -> None:
        self.errors.append(f"{self.doc.where(loc)}: {message}")

    def group(self, gi: int, model: _GroupModel, file: str) -> Group:
        loc: tuple[int | str, ...] = ("groups", gi)
        if not model.name:
            self.problem(loc, f"groups.{gi}: a group needs a `name`")
        elif model.name in self._names:
            first = self.doc.line_of(("groups", self._names[model.name]))
            self.problem((*loc, "name"), f"group {model.name!r} is repeated in the same file (first at line {first})")
        self._names.setdefault(model.name, gi)
        interval = self.duration((*loc, "interval"), model.interval)
        offset = self.duration((*loc, "query_offset"), model.query_offset)
        self.labels((*loc, "labels"), model.labels, f"group {model.name!r}")
        rules = tuple(
            rule for ri, r in enumerate(model.rules) if (rule := self.rule((*loc, "rules", ri), model, r)) is not None
        )
        seconds = interval.total_seconds() if interval else None  # 0 or unset: the global interval
        offset_seconds = offset.total_seconds() if offset is not None else None  # an explicit 0s overrides the global
        return Group(model.name, rules, seconds, model.limit, file, offset_seconds)

    def rule(self, loc: tuple[int | str, ...], group: _GroupModel, model: _RuleModel) -> Rule | None:
        name = model.record or model.alert
        title = f"group {group.name!r}, rule {int(loc[-1]) + 1}" + (f", {name!r}" if name else "")
        for_ = self.duration((*loc, "for"), model.for_)
        keep = self.duration((*loc, "keep_firing_for"), model.keep_firing_for)
        if not self._kind_and_fields(loc, title, model, for_, keep):
            return None
        self.labels((*loc, "labels"), model.labels, title)
        if model.alert:
            self.templates(loc, title, model)
        expr = self.expression(loc, title, model.expr)
        if expr is None:
            return None
        kind, name = (RECORD, model.record) if model.record else (ALERT, model.alert)
        labels = group.labels | model.labels
        where = self.doc.where(loc)
        return Rule(group.name, kind, name, expr, labels, _spelled(for_), model.annotations, where, _spelled(keep))

    def _kind_and_fields(
        self, loc: tuple[int | str, ...], title: str, model: _RuleModel, for_: timedelta | None, keep: timedelta | None
    ) -> bool:
        if model.record and model.alert:
            self.problem(loc, f"{title}: only one of `record` and `alert` may be set")
            return False
        if not (model.record or model.alert):
            self.problem(loc, f"{title}: one of `record` or `alert` must be set")
            return False
        if model.record:
            present = {"for": for_, "keep_firing_for": keep, "annotations": model.annotations}
            for key, value in present.items():
                if value:
                    self.problem(
                        (*loc, key), f"{title}: invalid field {key!r} in a recording rule (only alerting rules take it)"
                    )
        return True

    def expression(self, loc: tuple[int | str, ...], title: str, text: str) -> str | None:
        if not text.strip():
            self.problem((*loc, "expr"), f"{title}: field 'expr' must be set in rule")
            return None
        try:
            return normalise(text)
        except ValueError as exc:
            self.problem((*loc, "expr"), f"{title}: invalid PromQL: {exc}")
            return None

    def duration(self, loc: tuple[int | str, ...], text: str | None) -> timedelta | None:
        if text is None:
            return None
        try:
            return parse_duration(text, allow_zero=True)
        except ValueError as exc:
            self.problem(loc, f"{'.'.join(map(str, loc))}: {exc}")
            return None

    def labels(self, loc: tuple[int | str, ...], labels: dict[str, str], title: str) -> None:
        for name in labels:
            if not name or name == "__name__":
                self.problem((*loc, name), f"{title}: invalid label name {name!r}")

    def templates(self, loc: tuple[int | str, ...], title: str, model: _RuleModel) -> None:
        """Prometheus parses an alert's labels and annotations as Go templates: an unclosed action fails."""
        for key, values in (("labels", model.labels), ("annotations", model.annotations)):
            for name, value in values.items():
                if _unclosed_action(value):
                    what = "label" if key == "labels" else "annotation"
                    self.problem((*loc, key, name), f"{title}: {what} {name!r}: template: unclosed action")


def _unclosed_action(template: str) -> bool:
    """``{{`` without a later ``}}``: the Go template error every Prometheus version reports."""
    position = template.find("{{")
    while position >= 0:
        close = template.find("}}", position + 2)
        if close < 0:
            return True
        position = template.find("{{", close + 2)
    return False


def _spelled(delta: timedelta | None) -> str:
    """``for``/``keep_firing_for`` as compared: the shortest spelling, empty when zero or unset."""
    return format_duration(delta) if delta else ""


def _merge(sets: Sequence[RuleSet], description: str) -> RuleSet:
    """One rule set from several files. A group name may repeat across files: Prometheus keys by both."""
    return RuleSet(tuple(group for ruleset in sets for group in ruleset.groups), description)


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
    return Rule(group, r["kind"], r["name"], r["expr"], r["labels"], r["for"], r["annotations"], keep_firing_for=keep)


def stored_body(ruleset: RuleSet) -> dict[str, Any]:
    """What a stored live version keeps: the canonical rules, their files and the global interval they ran under."""
    return ruleset.to_json(files=True) | {"evaluation_interval": ruleset.evaluation_interval}

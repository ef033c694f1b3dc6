"""Rule files as Prometheus reads them: a file, a directory of files, or ``git:REV:PATH``.

    desired = load_path(Path("rules/recording"))          # a file or a directory of rule files
    old = load_git("git:main:rules/recording/")           # read with ``git show``, no checkout

Every problem of a file is reported at once with its ``FILE:LINE``; the format is Prometheus 3.x's.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, ValidationError

from auditor.config.yamlfile import YamlDocument, load_yaml, parse_yaml, validation_messages
from auditor.core.durations import format_duration, parse_duration
from auditor.core.errors import ConfigError, RuleError
from auditor.core.rulesets import ALERT, RECORD, Group, Rule, RuleSet, normalise
from auditor.core.strict import StrictModel

RULE_SUFFIXES = (".yml", ".yaml")


def _null_as_empty(value: object) -> object:
    """Go decodes a YAML null into an empty string, as Prometheus reads it."""
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_null_as_empty)]
TextMap = Annotated[dict[Text, Text], BeforeValidator(lambda v: {} if v is None else v)]


class _RuleModel(StrictModel):
    record: Text = ""
    alert: Text = ""
    expr: Text = ""
    labels: TextMap = Field(default_factory=dict)
    annotations: TextMap = Field(default_factory=dict)
    for_: str | None = Field(None, alias="for")
    keep_firing_for: str | None = None


class _GroupModel(StrictModel):
    name: Text = ""
    interval: str | None = None
    limit: Annotated[int, BeforeValidator(lambda v: 0 if v is None else v)] = 0
    labels: TextMap = Field(default_factory=dict)
    query_offset: str | None = None
    rules: Annotated[list[_RuleModel], BeforeValidator(lambda v: [] if v is None else v)] = Field(default_factory=list)


class _FileModel(StrictModel):
    groups: Annotated[list[_GroupModel], BeforeValidator(lambda v: [] if v is None else v)] = Field(
        default_factory=list
    )


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

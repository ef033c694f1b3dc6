"""``rules diff`` output: JSON (docs/cli.md), git-like text (coloured on a TTY), Markdown for a PR comment."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from rich.markup import escape
from rich.table import Table

from auditor.core.durations import format_duration
from auditor.core.impact import Impact, ImpactKey, impact_key
from auditor.core.rulesets import RECORD, Group, Rule
from auditor.evaluate.rules_diff import RuleChange, RulesDiff
from auditor.export.terminal import console

if TYPE_CHECKING:
    from auditor.core.rulesets import StoredRuleVersion

Impacts = dict[ImpactKey, Impact]


def rule_entry(rule: Rule) -> dict[str, object]:
    entry: dict[str, object] = {
        "group": rule.group,
        "record": rule.name if rule.kind == RECORD else None,
        "kind": rule.kind,
        "expr": rule.expr,
        "labels": rule.labels,
    }
    if rule.kind != RECORD:
        entry["alert"] = rule.name
        entry["for"] = rule.for_
        entry["keep_firing_for"] = rule.keep_firing_for
    return entry


def _side(rule: Rule, group: Group) -> dict[str, object]:
    return {
        "group": rule.group,
        "file": group.file,
        "name": rule.name,
        "expr": rule.expr,
        "labels": rule.labels,
        "for": rule.for_,
        "keep_firing_for": rule.keep_firing_for,
        "annotations": rule.annotations,
        "interval": _interval(group.interval),
        "limit": group.limit,
        "query_offset": _interval(group.query_offset),
    }


def _interval(seconds: float | None) -> str | None:
    return format_duration(timedelta(seconds=seconds)) if seconds is not None else None


def _impact_fields(impact: Impact | None, section: str) -> dict[str, object]:
    if impact is None:
        return {}
    fields: dict[str, object] = {}
    if section in {"added", "changed"}:
        fields["series_estimate"] = impact.series_estimate
        if impact.estimate_error:
            fields["estimate_error"] = impact.estimate_error
        fields["inputs"] = [{"metric": m, "series": n} for m, n in impact.inputs]
    if section in {"removed", "changed"}:
        fields["series_current"] = impact.series_current
    if impact.warnings:
        fields["warnings"] = impact.warnings
    return fields


def diff_json(result: RulesDiff, impacts: Impacts | None = None) -> dict[str, object]:
    impacts = impacts or {}

    def entry(rule: Rule, section: str) -> dict[str, object]:
        return rule_entry(rule) | _impact_fields(impacts.get(impact_key(section, rule)), section)

    def changed(change: RuleChange) -> dict[str, object]:
        document = entry(change.new, "changed") | {
            "changes": list(change.changes),
            "old": _side(change.old, change.old_group),
            "new": _side(change.new, change.new_group),
        }
        if change.renamed_from:
            document["renamed_from"] = change.renamed_from
        if change.moved_from:
            document["moved_from"] = change.moved_from
        return document

    return {
        "old": result.old.description,
        "new": result.new.description,
        "added": [entry(r, "added") for r in result.added],
        "removed": [entry(r, "removed") for r in result.removed],
        "changed": [changed(c) for c in result.changed],
        "unchanged": result.unchanged,
        "dependents": [
            {"group": d.rule.group, "name": d.rule.name, "kind": d.rule.kind, "reads": d.missing}
            for d in result.dependents
        ],
    }


def print_text(result: RulesDiff, out: TextIO, impacts: Impacts | None = None) -> None:
    """Git-like: ``+`` added, ``-`` removed, ``~`` changed with the old and new lines."""
    term = console(out)
    for line in _text_lines(result, impacts or {}):
        term.print(line, soft_wrap=True)


def _text_lines(result: RulesDiff, impacts: Impacts) -> Iterator[str]:
    yield f"[bold]--- {escape(result.old.description)}[/]"
    yield f"[bold]+++ {escape(result.new.description)}[/]"
    for rule in result.added:
        yield f"[green]+ {_title(rule)}{_series(impacts.get(impact_key('added', rule)))}[/]"
        yield f"[green]+     expr: {escape(rule.expr)}[/]"
        yield from _labels_line("green", "+", rule)
    for rule in result.removed:
        yield f"[red]- {_title(rule)}{_series(impacts.get(impact_key('removed', rule)))}[/]"
        yield f"[red]-     expr: {escape(rule.expr)}[/]"
    for change in result.changed:
        impact = impacts.get(impact_key("changed", change.new))
        yield f"[yellow]~ {_title(change.new)} ({', '.join(change.changes)}){_series(impact)}[/]"
        yield from _change_lines(change)
    yield f"  {result.unchanged} unchanged"
    for dependent in result.dependents:
        yield (
            f"[bold red]! {escape(dependent.rule.group)}/{escape(dependent.rule.name)} reads "
            f"{escape(dependent.missing)}, which the new rules no longer record[/]"
        )
    for key, impact in impacts.items():
        for warning in impact.warnings:
            yield f"[bold yellow]! {escape(key[1])}/{escape(key[2])}: {escape(warning)}[/]"


def _change_lines(change: RuleChange) -> Iterator[str]:
    old, new = _side(change.old, change.old_group), _side(change.new, change.new_group)
    for change_name in change.changes:
        name = "name" if change_name == "renamed" else change_name
        if name == "group" and old["group"] == new["group"]:
            name = "file"  # one group name in several files: the rule moved to another file's group
        yield f"[red]-     {name}: {escape(_show(old[name]))}[/]"
        yield f"[green]+     {name}: {escape(_show(new[name]))}[/]"


def _labels_line(colour: str, mark: str, rule: Rule) -> Iterator[str]:
    if rule.labels:
        yield f"[{colour}]{mark}     labels: {escape(_show(rule.labels))}[/]"


def _title(rule: Rule) -> str:
    kind = "" if rule.kind == RECORD else "alert "
    return f"{kind}{escape(rule.group)}/{escape(rule.name)}"


def _series(impact: Impact | None) -> str:
    if impact is None:
        return ""
    parts = []
    if impact.series_current is not None:
        parts.append(f"now {impact.series_current:,} series")
    if impact.series_estimate is not None:
        parts.append(f"after {impact.series_estimate:,} series")
    if impact.estimate_error:
        parts.append("estimate failed")
    return escape(f"  [{', '.join(parts)}]") if parts else ""


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return "(unset)" if value is None else str(value)


def markdown(result: RulesDiff, impacts: Impacts | None = None) -> str:
    """A PR comment: summary line, one table row per change, expressions in a collapsible block."""
    impacts = impacts or {}
    lines = [
        f"### Rules diff: `{_md(result.old.description)}` → `{_md(result.new.description)}`",
        "",
        f"**{len(result.added)} added, {len(result.removed)} removed, {len(result.changed)} changed, "
        f"{result.unchanged} unchanged**",
        "",
    ]
    if result.same:
        return "\n".join([*lines, "No rule differs."]) + "\n"
    lines += ["| | group | rule | change | series now | series after |", "| --- | --- | --- | --- | --- | --- |"]
    for rule in result.added:
        lines.append(_row("added", rule, "", impacts.get(impact_key("added", rule))))
    for rule in result.removed:
        lines.append(_row("removed", rule, "", impacts.get(impact_key("removed", rule))))
    for change in result.changed:
        impact = impacts.get(impact_key("changed", change.new))
        lines.append(_row("changed", change.new, ", ".join(change.changes), impact))
    lines += _md_notes(result, impacts)
    lines += ["", "<details><summary>Expressions</summary>", ""]
    lines += [f"- `{_md(r.group)}/{_md(r.name)}` (added): `{_md(r.expr)}`" for r in result.added]
    lines += [f"- `{_md(r.group)}/{_md(r.name)}` (removed): `{_md(r.expr)}`" for r in result.removed]
    for change in result.changed:
        title = f"`{_md(change.new.group)}/{_md(change.new.name)}`"
        lines.append(f"- {title}: `{_md(change.old.expr)}` → `{_md(change.new.expr)}`")
    return "\n".join([*lines, "", "</details>", ""])


def _row(section: str, rule: Rule, change: str, impact: Impact | None) -> str:
    mark = f"**{section}**"
    now = _count(impact.series_current) if impact else ""
    after = _count(impact.series_estimate) if impact else ""
    if impact and impact.estimate_error:
        after = "estimate failed"
    name = rule.name if rule.kind == RECORD else f"alert {rule.name}"
    return f"| {mark} | {_md(rule.group)} | `{_md(name)}` | {_md(change)} | {now} | {after} |"


def _md_notes(result: RulesDiff, impacts: Impacts) -> list[str]:
    notes = [
        f"- ⚠️ `{_md(d.rule.group)}/{_md(d.rule.name)}` reads `{_md(d.missing)}`, which the new rules no longer record"
        for d in result.dependents
    ]
    notes += [f"- ⚠️ `{_md(k[1])}/{_md(k[2])}`: {_md(w)}" for k, impact in impacts.items() for w in impact.warnings]
    return ["", *notes] if notes else []


def _count(value: int | None) -> str:
    return f"{value:,}" if value is not None else ""


def _md(text: str) -> str:
    """Safe inside a table cell and a code span."""
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def drift_json(result: RulesDiff) -> dict[str, object]:
    """``rules status``: the diff from the loaded rules to the desired ones, named as drift."""
    document = diff_json(result)
    return {
        "drift": not result.same,
        "desired": result.new.description,
        "live": result.old.description,
        "desired_fingerprint": result.new.fingerprint(),
        "live_fingerprint": result.old.fingerprint(),
        "missing": document["added"],
        "extra": document["removed"],
        "changed": document["changed"],
        "unchanged": result.unchanged,
    }


def versions_json(versions: Sequence[StoredRuleVersion]) -> dict[str, object]:
    return {
        "versions": [
            {
                "id": v.id,
                "fingerprint": v.fingerprint,
                "first_seen": v.first_seen.isoformat(),
                "last_seen": v.last_seen.isoformat(),
                "rules": v.rules,
            }
            for v in versions
        ]
    }


def print_versions(versions: Sequence[StoredRuleVersion], out: TextIO) -> None:
    term = console(out)
    if not versions:
        term.print("no rule versions stored yet: the daemon records one per change of the loaded rules")
        return
    table = Table()
    for column in ("version", "fingerprint", "first seen (UTC)", "last seen (UTC)", "rules"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            f"@{v.id}",
            v.fingerprint[:12],
            f"{v.first_seen:%Y-%m-%d %H:%M}",
            f"{v.last_seen:%Y-%m-%d %H:%M}",
            str(v.rules),
        )
    term.print(table)
    term.print("compare two with `metrics-auditor rules diff @OLD @NEW`", markup=False)

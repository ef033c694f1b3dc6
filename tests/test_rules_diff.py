"""Rule sets and their semantic diff, on crafted pairs (no servers)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from auditor.errors import RuleError
from auditor.evaluate.rules_diff import diff
from auditor.rulesets import RuleSet, load_git, load_path

ROOT = Path(__file__).resolve().parent.parent

BASE = """
groups:
  - name: http
    interval: 1m
    rules:
      - record: job:requests:rate5m
        expr: sum(rate(http_requests_total[5m])) by (job)
      - record: job:errors:rate5m
        expr: sum by (job) (rate(http_requests_total{code=~"5..", method="GET"}[5m]))
        labels: {team: web}
      - alert: HighErrors
        expr: job:errors:rate5m > 1
        for: 10m
  - name: nodes
    rules:
      - record: instance:cpu:rate5m
        expr: sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))
"""


def ruleset(tmp_path: Path, text: str, name: str = "rules.yml") -> RuleSet:
    path = tmp_path / name
    path.write_text(text)
    return load_path(path)


def test_reformatting_is_not_a_change(tmp_path: Path) -> None:
    reformatted = (
        BASE.replace(
            "expr: sum(rate(http_requests_total[5m])) by (job)",
            "expr: |\n          sum   by(job)(\n            rate(http_requests_total[300s]))",
        )
        .replace('{code=~"5..", method="GET"}', '{method="GET",code=~"5.."}')
        .replace("for: 10m", "for: 600s")
    )
    old, new = ruleset(tmp_path, BASE, "a.yml"), ruleset(tmp_path, reformatted, "b.yml")
    result = diff(old, new)
    assert result.same
    assert result.unchanged == 4
    assert old.fingerprint() == new.fingerprint()


def test_expr_label_interval_and_limit_changes(tmp_path: Path) -> None:
    changed = (
        BASE.replace("labels: {team: web}", "labels: {team: platform}")
        .replace("rate(node_cpu_seconds_total", "irate(node_cpu_seconds_total")
        .replace("interval: 1m", "interval: 30s\n    limit: 100")
    )
    result = diff(ruleset(tmp_path, BASE, "a.yml"), ruleset(tmp_path, changed, "b.yml"))
    by_name = {c.new.name: c.changes for c in result.changed}
    assert by_name == {
        "job:requests:rate5m": ("interval", "limit"),
        "job:errors:rate5m": ("labels", "interval", "limit"),
        "HighErrors": ("interval", "limit"),
        "instance:cpu:rate5m": ("expr",),
    }
    assert (result.added, result.removed, result.unchanged) == ([], [], 0)


def test_a_moved_rule_is_changed_with_group_not_removed_and_added(tmp_path: Path) -> None:
    requests_rule = "      - record: job:requests:rate5m\n        expr: sum(rate(http_requests_total[5m])) by (job)\n"
    moved = BASE.replace(requests_rule, "") + requests_rule
    moved += "      - record: instance:memory:bytes\n        expr: node_memory_total - node_memory_free\n"
    result = diff(ruleset(tmp_path, BASE, "a.yml"), ruleset(tmp_path, moved, "b.yml"))
    [move] = [c for c in result.changed if c.new.name == "job:requests:rate5m"]
    assert move.changes == ("interval", "group")
    assert move.moved_from == "http"
    assert move.new.group == "nodes"
    assert [r.name for r in result.added] == ["instance:memory:bytes"]
    assert result.removed == []


def test_a_renamed_recording_rule_and_its_dependents(tmp_path: Path) -> None:
    renamed = BASE.replace("record: job:errors:rate5m", "record: job:http_errors:rate5m")
    result = diff(ruleset(tmp_path, BASE, "a.yml"), ruleset(tmp_path, renamed, "b.yml"))
    [rename] = result.changed
    assert rename.changes == ("renamed",)
    assert rename.renamed_from == "job:errors:rate5m"
    [dependent] = result.dependents
    assert (dependent.rule.name, dependent.missing) == ("HighErrors", "job:errors:rate5m")


def test_same_record_name_in_two_groups_are_two_rules(tmp_path: Path) -> None:
    two = BASE + "  - name: other\n    rules:\n      - record: job:requests:rate5m\n        expr: vector(1)\n"
    result = diff(ruleset(tmp_path, BASE, "a.yml"), ruleset(tmp_path, two, "b.yml"))
    [added] = result.added
    assert (added.group, added.name) == ("other", "job:requests:rate5m")
    assert result.unchanged == 4


def test_removed_rule(tmp_path: Path) -> None:
    fewer = BASE.replace("      - alert: HighErrors\n        expr: job:errors:rate5m > 1\n        for: 10m\n", "")
    result = diff(ruleset(tmp_path, BASE, "a.yml"), ruleset(tmp_path, fewer, "b.yml"))
    assert [(r.kind, r.name) for r in result.removed] == [("alert", "HighErrors")]


def test_default_interval_resolves_to_the_global_one(tmp_path: Path) -> None:
    base = ruleset(tmp_path, BASE, "a.yml")
    explicit = ruleset(tmp_path, BASE.replace("  - name: nodes\n", "  - name: nodes\n    interval: 1m\n"), "b.yml")
    assert not diff(base, explicit).same
    assert diff(base.with_default_interval(60), explicit).same


def test_group_labels_are_merged_into_rule_labels(tmp_path: Path) -> None:
    grouped = BASE.replace("  - name: nodes\n", "  - name: nodes\n    labels: {team: infra}\n")
    inline = BASE.replace(
        'rate(node_cpu_seconds_total{mode!="idle"}[5m]))\n',
        'rate(node_cpu_seconds_total{mode!="idle"}[5m]))\n        labels: {team: infra}\n',
    )
    assert diff(ruleset(tmp_path, grouped, "a.yml"), ruleset(tmp_path, inline, "b.yml")).same


def test_the_shipped_example_set_loads() -> None:
    rules = load_path(ROOT / "rules" / "recording")
    assert len(rules.rules()) == 5
    assert all(r.kind == "record" for r in rules.rules())


GROUP = "groups:\n  - name: g\n    rules:\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("groups:\n  - name: g\n    rules:\n      - record: a\n        expr: sum(\n", 5, "invalid PromQL"),
        (
            GROUP + "      - record: a\n        expr: up\n      - record: a\n        expr: x\n",
            6,
            "duplicate record 'a'",
        ),
        ("groups:\n  - name: g\n    rules:\n      - record: a\n        expresion: up\n", 5, "unknown key"),
        ("groups:\n  - name: g\n    rules:\n      - expr: up\n", 4, "exactly one of `record` or `alert`"),
        ("groups:\n  - name: g\n    interval: often\n    rules: []\n", 3, "invalid duration"),
        ("groups:\n  - name: g\n    rules: [\n", 4, "invalid YAML"),
        ("groups:\n  - name: g\n    limit: -1\n    rules: []\n", 3, "greater than or equal to 0"),
    ],
)
def test_invalid_rule_files_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(RuleError) as info:
        load_path(path)
    assert f"{path}:{line}: " in str(info.value)
    assert message in str(info.value)


def test_a_group_defined_in_two_files_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("groups:\n  - name: g\n    rules: []\n")
    (tmp_path / "b.yml").write_text("groups:\n  - name: g\n    rules: []\n")
    with pytest.raises(RuleError, match="group 'g' is already defined"):
        load_path(tmp_path)


def test_git_revisions_are_read_without_checkout(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "rules").mkdir(parents=True)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "rules" / "http.yml").write_text(BASE)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], check=True)
    (repo / "rules" / "http.yml").write_text(BASE.replace("mode!=", "mode=~").replace('"idle"', '"user|system"'))
    subprocess.run([*git, "commit", "-qam", "v2"], check=True)
    old, new = load_git("git:HEAD~1:rules/", repo), load_git("git:main:rules", repo)
    [change] = diff(old, new).changed
    assert (change.new.name, change.changes) == ("instance:cpu:rate5m", ("expr",))
    assert old.description == "git:HEAD~1:rules/"
    with pytest.raises(RuleError, match="no rule files at nowhere"):
        load_git("git:main:nowhere", repo)
    with pytest.raises(RuleError, match="git ls-tree"):
        load_git("git:no-such-rev:rules", repo)

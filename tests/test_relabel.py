"""The relabel rules as an operator writes them (their errors), and Go's template expansion; the semantics
themselves are proven case by case on real servers in tests/test_relabel_live.py."""

from __future__ import annotations

import pytest

from auditor.config.relabel import relabel_rules
from auditor.core.errors import ConfigError
from auditor.core.relabel import Action, apply, expand


@pytest.mark.parametrize(("template", "out"), [
    ("$1", "eu"), ("${1}", "eu"), ("$1x", ""), ("${1}x", "eux"), ("$$1", "$1"), ("a$", "a$"), ("${", "${"),
    ("$first-$3", "e-u"), ("${first}${3}", "eu"), ("$9", ""), ("${bad name}", "${bad name}"),
])  # fmt: skip
def test_templates_expand_as_go_expands_them(template: str, out: str) -> None:
    assert expand(template, ["eu", "eu", "e", "u"], {"first": 2}) == out


def test_defaults_are_prometheus_and_an_action_is_matched_whatever_its_case() -> None:
    [rule] = relabel_rules([{"action": "LabelDrop", "regex": "pod_ip"}], "f.yml")
    assert rule.action is Action.LABELDROP
    [replace] = relabel_rules([{"target_label": "x"}], "f.yml")
    assert (replace.action, replace.separator, replace.regex.pattern, replace.replacement) == (
        Action.REPLACE, ";", "(.*)", "$1"
    )  # fmt: skip
    assert apply({"__name__": "m", "pod_ip": "1"}, [rule]) == {"__name__": "m"}


@pytest.mark.parametrize(("rules", "message"), [
    ({"action": "drop"}, "must be a list"),
    (["drop"], "rule 1: a rule is a mapping"),
    ([{"action": "explode"}], "rule 1: unknown action 'explode'"),
    ([{"action": "hashmod", "target_label": "s"}], "hashmod needs a non-zero modulus"),
    ([{"action": "replace"}], "replace needs a target_label"),
    ([{"action": "labeldrop", "regex": "x", "source_labels": ["a"]}], "labeldrop takes only a regex"),
    ([{"regex": "(", "target_label": "x"}], "regex: invalid regular expression"),
    ([{"target_label": "x", "sourcelabels": ["a"]}], "unknown field 'sourcelabels'"),
    ([{"source_labels": "a", "target_label": "x"}], "source_labels must be a list"),
])  # fmt: skip
def test_a_bad_rule_is_refused_with_where_and_why(rules: object, message: str) -> None:
    with pytest.raises(ConfigError, match=r"f\.yml") as raised:
        relabel_rules(rules, "f.yml")
    assert message in str(raised.value)

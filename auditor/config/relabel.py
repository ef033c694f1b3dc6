"""``metric_relabel_configs`` as an operator writes them, checked as Prometheus checks them when it loads its
configuration (docs/plan.md).

    rules = relabel_rules(yaml_list, "relabel.yml")      # [Rule, ...]; ConfigError naming the rule and the field

Defaults are Prometheus': ``action: replace``, ``separator: ";"``, ``regex: (.*)``, ``replacement: $1``. An
action is matched whatever its case (Prometheus lowercases it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auditor.core.errors import ConfigError
from auditor.core.regex import prometheus_regex
from auditor.core.relabel import DEFAULT_REGEX, Action, Rule

_FIELDS = frozenset({"action", "source_labels", "separator", "regex", "target_label", "replacement", "modulus"})
_NEED_TARGET = frozenset({Action.REPLACE, Action.HASHMOD, Action.LOWERCASE, Action.UPPERCASE, Action.KEEPEQUAL,
                          Action.DROPEQUAL})  # fmt: skip
_REGEX_ONLY = frozenset({Action.LABELDROP, Action.LABELKEEP})


def relabel_rules(data: object, where: str) -> list[Rule]:
    """Every rule of a ``metric_relabel_configs`` list; ``where`` names the file (and job) in errors."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise ConfigError(f"{where}: metric_relabel_configs must be a list of rules")
    return [_rule(item, f"{where}: rule {i + 1}") for i, item in enumerate(data)]


def _rule(item: object, where: str) -> Rule:
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where}: a rule is a mapping (action, source_labels, regex, ...)")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r}; a rule takes {', '.join(sorted(_FIELDS))}")
    action = _action(item.get("action", "replace"), where)
    rule = Rule(
        action=action,
        source_labels=_labels(item.get("source_labels"), where),
        separator=_text(item, "separator", ";", where),
        regex=_regex(_text(item, "regex", DEFAULT_REGEX, where), where),
        target_label=_text(item, "target_label", "", where),
        replacement=_text(item, "replacement", "$1", where),
        modulus=_modulus(item.get("modulus", 0), where),
    )
    _check(rule, where)
    return rule


def _check(rule: Rule, where: str) -> None:
    if rule.action is Action.HASHMOD and rule.modulus == 0:
        raise ConfigError(f"{where}: hashmod needs a non-zero modulus")
    if rule.action in _NEED_TARGET and not rule.target_label:
        raise ConfigError(f"{where}: {rule.action} needs a target_label")
    others = (rule.source_labels, rule.target_label, rule.modulus, rule.separator, rule.replacement)
    if rule.action in _REGEX_ONLY and others != ((), "", 0, ";", "$1"):  # as Prometheus: defaults may be spelt out
        raise ConfigError(f"{where}: {rule.action} takes only a regex (matched against label names)")


def _action(value: object, where: str) -> Action:
    try:
        return Action(str(value).lower())
    except ValueError:
        raise ConfigError(f"{where}: unknown action {value!r}; one of {', '.join(a.value for a in Action)}") from None


def _labels(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: source_labels must be a list of label names")
    return tuple(value)


def _text(item: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ConfigError(f"{where}: {key} must be a string")
    return str(value)


def _regex(pattern: str, where: str) -> Any:
    try:
        return prometheus_regex(pattern)
    except ValueError as exc:
        raise ConfigError(f"{where}: regex: {exc}") from None


def _modulus(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: modulus must be a whole number")
    return value

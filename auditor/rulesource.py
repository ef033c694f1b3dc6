"""Rule-set versions by name (DESIGN 3.1): a file or directory, ``live``, ``@ID``, ``git:REV:PATH``.

old = resolve("git:main:rules/recording/", prometheus=None, store=None)
new = resolve("live", prometheus=client, store=None)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditor.collect.client import PrometheusClient
from auditor.errors import ConfigError, RuleError
from auditor.rulesets import RuleSet, align, from_loaded, git_spec, load_git, load_path

if TYPE_CHECKING:
    from auditor.store import Store

LIVE = "live"


def check_spec(spec: str) -> None:
    """Reject a malformed version before anything is opened or asked."""
    if spec.startswith("@") and not spec[1:].isdigit():
        raise ConfigError(f"{spec!r}: a stored version is @ID with a numeric id (see `metrics-auditor rules history`)")
    if spec.startswith("git:"):
        git_spec(spec)


def resolve(spec: str, *, prometheus: PrometheusClient | None, store: Store | None) -> RuleSet:
    if spec == LIVE:
        if prometheus is None:
            raise ConfigError("`live` needs a Prometheus: set AUDITOR_PROMETHEUS_URL")
        return from_loaded(prometheus.rules(), f"live ({prometheus.base_url})")
    if spec.startswith("@"):
        return _stored(spec, store)
    if spec.startswith("git:"):
        return load_git(spec)
    return load_path(Path(spec))


def _stored(spec: str, store: Store | None) -> RuleSet:
    check_spec(spec)
    if store is None:
        raise ConfigError(f"{spec}: stored versions need the database (AUDITOR_DATABASE_URL)")
    found = store.rule_version(int(spec[1:]))
    if found is None:
        raise RuleError(f"{spec}: no stored rule version with this id (see `metrics-auditor rules history`)")
    return found[1]


def comparable(
    old: RuleSet, new: RuleSet, old_live: bool, new_live: bool, interval: float | None
) -> tuple[RuleSet, RuleSet]:
    """Align file-based sides with a live one (global interval, rule kinds); unchanged when neither is live."""
    if interval is None:
        return old, new
    if new_live and not old_live:
        old, new = align(old, new, interval)
    elif old_live and not new_live:
        new, old = align(new, old, interval)
    elif not old_live and not new_live:
        old, new = old.with_default_interval(interval), new.with_default_interval(interval)
    return old, new

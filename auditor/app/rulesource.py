"""Rule-set versions by name (docs/cli.md): a file or directory, ``live``, ``@ID``, ``git:REV:PATH``.

old = resolve("git:main:rules/recording/", prometheus=None, store=None)
new = resolve("live", prometheus=client, store=None)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from auditor.config.rulefiles import git_spec, load_git, load_path
from auditor.core.domain import ServerKind
from auditor.core.errors import ConfigError, RuleError
from auditor.core.rulesets import RuleSet, from_loaded

if TYPE_CHECKING:  # httpx and SQLAlchemy load only when `live` or `@ID` asks: a files-only diff starts faster
    from auditor.collect.client import PrometheusClient
    from auditor.store import Store

LIVE = "live"


def check_spec(spec: str) -> None:
    """Reject a malformed version before anything is opened or asked."""
    if spec.startswith("@") and not (spec[1:].isascii() and spec[1:].isdigit() and int(spec[1:]) < 2**63):
        raise ConfigError(f"{spec!r}: a stored version is @ID with a numeric id (see `metrics-auditor rules history`)")
    if spec.startswith("git:"):
        git_spec(spec)


def resolve(spec: str, *, prometheus: PrometheusClient | None, store: Store | None) -> RuleSet:
    if spec == LIVE:
        if prometheus is None:
            raise ConfigError("`live` needs a Prometheus: set AUDITOR_PROMETHEUS_URL")
        return live_rules(prometheus)
    if spec.startswith("@"):
        return _stored(spec, store)
    if spec.startswith("git:"):
        return load_git(spec)
    return load_path(Path(spec))


def live_rules(prometheus: PrometheusClient) -> RuleSet:
    """The rules ``prometheus`` has loaded, with its global evaluation interval; refused on VictoriaMetrics."""
    groups = prometheus.rules()
    if not groups and prometheus.server_kind() is ServerKind.VICTORIAMETRICS:
        raise ConfigError(
            f"{prometheus.safe_url} is VictoriaMetrics: rules are not available on this server (they run in "
            "vmalert); compare rule files, git revisions or stored versions instead"
        )
    return from_loaded(groups, f"live ({prometheus.safe_url})", prometheus.evaluation_interval())


def _stored(spec: str, store: Store | None) -> RuleSet:
    check_spec(spec)
    if store is None:
        raise ConfigError(f"{spec}: stored versions need the database (AUDITOR_DATABASE_URL)")
    found = store.rule_version(int(spec[1:]))
    if found is None:
        raise RuleError(f"{spec}: no stored rule version with this id (see `metrics-auditor rules history`)")
    return found[1]

"""The loaded rules of a cycle as versions and drift: read by ``collect/loaded_rules.py``, compared with the
desired rules (``AUDITOR_RULES_DIR``) by the pure diff."""

from __future__ import annotations

from collections import Counter

from auditor.collect.client import PrometheusClient
from auditor.collect.loaded_rules import LoadedRulesReader
from auditor.collect.optional import OptionalEndpoints
from auditor.config.reloadable import Reloadable
from auditor.core.domain import ServerKind
from auditor.core.rulesets import RuleSet, align
from auditor.evaluate.rules_diff import diff as diff_rules
from auditor.export.stats import RulesState


class LoadedRules:
    def __init__(
        self, prometheus: PrometheusClient, endpoints: OptionalEndpoints, desired: Reloadable[RuleSet] | None
    ) -> None:
        self._reader = LoadedRulesReader(prometheus, endpoints)
        self._desired = desired

    def read(self, server: ServerKind) -> tuple[RuleSet | None, RulesState | None]:
        """The loaded rules and their drift; a failure here costs this cycle's rules, never its census."""
        found = self._reader.read(server, interval_needed=self._desired is not None)
        if found is None:
            return None, None
        live, interval = found.rules, found.rules.evaluation_interval
        drift = None
        if self._desired is not None and interval is not None:
            desired, comparable_live = align(self._desired.current(), live, interval)
            drift = diff_rules(comparable_live, desired)
        kinds = Counter(rule.kind for rule in live.rules())
        loaded = {k.value: n for k, n in kinds.items()}
        return live, RulesState(found.fingerprint, loaded, found.unhealthy, drift, found.failing_reads)

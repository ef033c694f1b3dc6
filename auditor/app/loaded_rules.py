"""The rules Prometheus has loaded, read each cycle: versions, health, and drift from the desired rules.

A failure here costs the cycle its rules, never its census (the endpoint is optional).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace

from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.config.reloadable import Reloadable
from auditor.core.domain import LoadedRuleGroup, ServerKind
from auditor.core.rulesets import RuleSet, align, from_loaded
from auditor.evaluate.rules_diff import diff as diff_rules
from auditor.export.stats import RulesState

log = logging.getLogger("auditor.app.cycle")


class LoadedRules:
    def __init__(
        self, prometheus: PrometheusClient, endpoints: OptionalEndpoints, desired: Reloadable[RuleSet] | None
    ) -> None:
        self._prometheus = prometheus
        self._endpoints = endpoints
        self._desired = desired
        self._logged_rule_errors: set[tuple[str, str, str]] = set()
        self._said_no_rules = False
        self._interval_of: tuple[str, float | None] = ("", None)

    def read(self, server: ServerKind) -> tuple[RuleSet | None, RulesState | None]:
        """The loaded rules and their drift; a failure here costs this cycle's rules, never its census."""
        if server is ServerKind.VICTORIAMETRICS:
            if not self._said_no_rules:
                log.info("rule versions and drift are not available on this server: VictoriaMetrics runs no rules")
                self._said_no_rules = True
            return None, None
        loaded = self._endpoints.call("/api/v1/rules", self._prometheus.rules, "rule versions and drift")
        if loaded is None:
            return None, None
        self._log_rule_errors(loaded)
        live = from_loaded(loaded, "live")
        fingerprint = live.fingerprint()  # the global interval is not part of it
        interval = self._evaluation_interval(fingerprint)
        live = replace(live, evaluation_interval=interval)
        drift = None
        if self._desired is not None and interval is not None:
            desired, comparable_live = align(self._desired.current(), live, interval)
            drift = diff_rules(comparable_live, desired)
        kinds = Counter(rule.kind for rule in live.rules())
        unhealthy = sum(1 for g in loaded for r in g.rules if r.health == "err")
        return live, RulesState(fingerprint, dict(kinds), unhealthy, drift)

    def _evaluation_interval(self, fingerprint: str) -> float | None:
        """The global interval, stored with each rule version and needed by the drift check.

        Read again only when the loaded rules change (a new global interval changes the intervals
        Prometheus reports for the groups without one), when drift is checked, or until it was read once.
        """
        known = fingerprint == self._interval_of[0] and self._interval_of[1] is not None
        if not known or self._desired is not None:
            interval = self._endpoints.call(
                "/api/v1/status/config", self._prometheus.evaluation_interval, "the drift check and rule versions"
            )
            self._interval_of = (fingerprint, interval)
        return self._interval_of[1]

    def _log_rule_errors(self, loaded: list[LoadedRuleGroup]) -> None:
        """One log line per rule error, not one per cycle."""
        errors = {(g.name, r.name, r.last_error) for g in loaded for r in g.rules if r.health == "err"}
        for group, rule, error in sorted(errors - self._logged_rule_errors):
            log.warning("rule %s/%s is failing in Prometheus: %s", group, rule, error)
        self._logged_rule_errors = errors

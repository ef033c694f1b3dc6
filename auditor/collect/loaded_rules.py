"""The rules Prometheus has loaded (``/api/v1/rules``) and its global evaluation interval, read each cycle.

Both endpoints are optional: a failure costs the cycle its rules, never its census. VictoriaMetrics runs no
rules (vmalert does), which is said once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.core.domain import LoadedRuleGroup, ServerKind
from auditor.core.rulesets import RuleSet, from_loaded, input_metrics

log = logging.getLogger("auditor.app.cycle")


@dataclass(frozen=True, slots=True)
class LiveRules:
    rules: RuleSet
    """As loaded, with the global evaluation interval (None when it could not be read)."""
    fingerprint: str
    """Of the rules alone: the global interval is not part of it."""
    unhealthy: int
    """Rules whose last evaluation failed."""
    failing_reads: frozenset[str] = frozenset()
    """Metrics the failing rules read (a fix that broke a reader shows here)."""


class LoadedRulesReader:
    def __init__(self, prometheus: PrometheusClient, endpoints: OptionalEndpoints) -> None:
        self._prometheus = prometheus
        self._endpoints = endpoints
        self._logged_rule_errors: set[tuple[str, str, str]] = set()
        self._said_no_rules = False
        self._interval_of: tuple[str, float | None] = ("", None)

    def read(self, server: ServerKind, *, interval_needed: bool) -> LiveRules | None:
        """The loaded rules; ``interval_needed`` (a drift check) reads the global interval every time."""
        if server is ServerKind.VICTORIAMETRICS:
            if not self._said_no_rules:
                log.info("rule versions and drift are not available on this server: VictoriaMetrics runs no rules")
                self._said_no_rules = True
            return None
        loaded = self._endpoints.call("/api/v1/rules", self._prometheus.rules, "rule versions and drift")
        if loaded is None:
            return None
        self._log_rule_errors(loaded)
        live = from_loaded(loaded, "live")
        fingerprint = live.fingerprint()
        interval = self._evaluation_interval(fingerprint, interval_needed)
        failing = [r for g in loaded for r in g.rules if r.health == "err"]
        reads = frozenset(m for r in failing for m in input_metrics(r.query))
        return LiveRules(replace(live, evaluation_interval=interval), fingerprint, len(failing), reads)

    def _evaluation_interval(self, fingerprint: str, needed: bool) -> float | None:
        """The global interval, stored with each rule version and needed by the drift check.

        Read again only when the loaded rules change (a new global interval changes the intervals
        Prometheus reports for the groups without one), when drift is checked, or until it was read once.
        """
        known = fingerprint == self._interval_of[0] and self._interval_of[1] is not None
        if not known or needed:
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

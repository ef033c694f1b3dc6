"""Query usage each cycle: read the query log on from where the last read stopped, store it, sum it up.

    tracker = UsageTracker(store, settings, clock)
    tracker.track(census, url, budgets)   # after the cycle is stored; None when no query log is configured

Reading and storing happen after the census is stored and never fail the cycle: an unreadable log or a
database hiccup is logged and counted, and the next cycle goes on from the stored position.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from auditor.collect.querylog import QueryLogReader
from auditor.config.dashboards import dashboard_usage
from auditor.config.rulefiles import load_path
from auditor.config.settings import Settings
from auditor.core.budgets import Budgets
from auditor.core.domain import Census, Clock
from auditor.core.errors import AuditorError
from auditor.core.rulesets import Rule, RuleSet
from auditor.core.usage import Credit, LogState, UsageBatch
from auditor.evaluate.report_usage import UsageEvidence
from auditor.evaluate.usage import UsageInput, UsageSummary, coverage, judge, unused_by_owner
from auditor.store import Store

log = logging.getLogger(__name__)
SUMMARY_EVERY = timedelta(hours=1)
"""The unused metrics per owner are summed up again this often (a read of the window's usage)."""


@dataclass
class UsageMemory:
    """What the tracker keeps between cycles, and a reload hands on: failures, skips, the last summing-up."""

    failures: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    """Lines passed over since start, by reason (``Skip``)."""
    summed_at: datetime | None = None
    unused: dict[str, tuple[int, int]] = field(default_factory=dict)


class UsageTracker:
    def __init__(self, store: Store, settings: Settings, clock: Clock, memory: UsageMemory | None = None) -> None:
        self._store, self._settings, self._clock = store, settings, clock
        self.memory = memory or UsageMemory()
        path = settings.query_log_file
        self._reader = (
            None if path is None
            else QueryLogReader(path, max_bytes=settings.usage.max_bytes,
                                max_seconds=settings.usage.max_time.total_seconds(), monotonic=clock.monotonic)
        )  # fmt: skip

    def track(self, census: Census, url: str, budgets: Budgets) -> UsageSummary | None:
        """Read and store what the log holds since the last read; None without a query log or when it failed."""
        if self._reader is None:
            return None
        try:
            state = self._store.usage.state(census.source)
            now = self._clock.now()
            batch = self._reader.read(state.position if state else None, Credit(census.metrics), now)
            state = self._store.usage.record(census.source, url, batch, now) or state
            self.memory.skipped.update({reason.value: n for reason, n in batch.skipped.items()})
            return self._summary(census, batch, budgets, now, state)
        except AuditorError as exc:
            self.memory.failures += 1
            log.warning("query usage not read this cycle: %s", exc)
            return None
        except Exception as exc:  # usage never fails the cycle; the next one goes on from the stored position
            self.memory.failures += 1
            log.error("query usage not read this cycle (unexpected %s): %s", type(exc).__name__, exc)
            return None

    def _summary(
        self, census: Census, batch: UsageBatch, budgets: Budgets, now: datetime, state: LogState | None
    ) -> UsageSummary:
        window = self._settings.usage.unused_after
        covered = coverage(state.covered_since if state else None, now, window)
        if self.memory.summed_at is None or now - self.memory.summed_at >= SUMMARY_EVERY:
            inp = usage_input(
                self._store, self._settings, census, now, rules=None, dashboards=dashboards_of(self._settings)
            )
            self.memory.unused, self.memory.summed_at = unused_by_owner(judge(inp, budgets)), now
        lag = (now - state.last_entry_at).total_seconds() if state and state.last_entry_at else None
        return UsageSummary(
            state.lines if state else 0, state.own_lines if state else 0, state.failures if state else 0,
            batch.behind_bytes, lag, covered.total_seconds() if covered else 0.0, self.memory.unused,
            dict(self.memory.skipped),
        )  # fmt: skip


def usage_input(
    store: Store, settings: Settings, census: Census, now: datetime, *, rules: RuleSet | None,
    dashboards: dict[str, list[str]] | None,
) -> UsageInput:  # fmt: skip
    """Everything the verdicts need about ``census`` as of ``now``: stored reads, coverage, rules and dashboards."""
    window = settings.usage.unused_after
    state = store.usage.state(census.source)
    readers: dict[str, list[str]] = {}
    for rule in [*(rules.rules() if rules else []), *desired_rules(settings)]:
        for metric in rule.inputs():
            name = f"{rule.group}/{rule.name}"
            if name not in readers.setdefault(metric, []):
                readers[metric].append(name)
    return UsageInput(
        series=dict(census.metrics),
        reads=store.usage.reads(census.source, (now - window).date(), now.date()),
        last_reads=store.usage.last_reads(census.source),
        coverage=coverage(state.covered_since if state else None, now, window),
        unused_after=window,
        rules=readers,
        dashboards=dashboards,
    )


def dashboards_of(settings: Settings) -> dict[str, list[str]] | None:
    """metric -> the dashboards that query it (AUDITOR_DASHBOARDS_DIR); None when none are configured."""
    return dashboard_usage(settings.dashboards_dir) if settings.dashboards_dir else None


def usage_evidence(
    store: Store, settings: Settings, census: Census | None, now: datetime, *, rules: RuleSet | None,
    budgets: Budgets, dashboards: dict[str, list[str]] | None,
) -> UsageEvidence | None:  # fmt: skip
    """The verdicts and the log's coverage as of ``now`` (the report's period end); None without a census."""
    if census is None:
        return None
    inp = usage_input(store, settings, census, now, rules=rules, dashboards=dashboards)
    return UsageEvidence(judge(inp, budgets), inp.coverage, inp.unused_after)


def desired_rules(settings: Settings) -> list[Rule]:
    """The desired rules (AUDITOR_RULES_DIR) read metrics too, loaded or not yet; a broken file reads none."""
    if settings.rules_dir is None:
        return []
    try:
        return list(load_path(settings.rules_dir).rules())
    except AuditorError as exc:
        log.warning("desired rules not counted as readers: %s", exc)
        return []

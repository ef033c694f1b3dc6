"""Budgets as code: which budget applies to a metric or a job (docs/budgets.md). The file's schema is
``auditor.config.budgets_schema``; the budgets read it through the protocols here.

budget = budgets.on(day).for_metric("user_sessions")   # first entry that matches wins
budget.owner, budget.max_series, budget.labels           # 'team-identity', 400, {'user_id': 100}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from auditor.core.budget_specs import (
    BudgetsSpec,
    DefaultsSpec,
    EntrySpec,
    JobEntrySpec,
    LabelLimitSpec,
    MetricEntrySpec,
)
from auditor.core.durations import parse_duration
from auditor.core.regex import PrometheusRegex, prometheus_regex

DEFAULT_OWNER = "unowned"

ALWAYS_ALLOWED = frozenset({"__name__", "job", "instance", "le", "quantile"})
"""Labels no policy forbids: the ones Prometheus adds to every target, and those of histograms and summaries."""


@dataclass(frozen=True, slots=True)
class DefaultValues:
    """The documented defaults (docs/budgets.md): the schema's defaults, and the budgets without a file."""

    owner: str = DEFAULT_OWNER
    max_series: int = 10_000
    warn_ratio: float = 0.8
    max_growth: Mapping[str, float] = field(default_factory=dict)
    growth_min_series: int = 100
    labels: Mapping[str, LabelLimitSpec] = field(default_factory=dict)
    labels_allowed: Sequence[str] | None = None
    labels_denied: Sequence[str] = ()


DEFAULTS = DefaultValues()


@dataclass(frozen=True, slots=True)
class NoBudgetsFile:
    defaults: DefaultValues = DEFAULTS
    metrics: Sequence[MetricEntrySpec] = ()
    jobs: Sequence[JobEntrySpec] = ()


@dataclass(frozen=True, slots=True)
class Budget:
    """The budget that applies to one metric, defaults filled in."""

    owner: str
    max_series: int
    warn_ratio: float
    max_growth: dict[timedelta, float]
    growth_min_series: int
    labels: dict[str, int]
    explicit: bool
    """True when an entry of the file names or matches the metric (not only the defaults)."""
    entry: int | None = None
    exception_reason: str | None = None
    exception_until: date | None = None
    labels_allowed: frozenset[str] | None = None
    """None: any label not denied; else only these (and ``ALWAYS_ALLOWED``)."""
    labels_denied: frozenset[str] = frozenset()

    def forbids(self, label: str) -> bool:
        """Whether the label policy forbids this metric to carry ``label``."""
        if label in ALWAYS_ALLOWED:
            return False
        return label in self.labels_denied or (self.labels_allowed is not None and label not in self.labels_allowed)


@dataclass(frozen=True)
class Budgets:
    model: BudgetsSpec
    path: Path | None = None
    warnings: tuple[str, ...] = ()
    today: date | None = None
    """The day exceptions are judged on (``on(day)``); None: every exception is in force."""
    _by_name: dict[str, int] = field(init=False, repr=False)
    _patterns: list[tuple[int, PrometheusRegex]] = field(init=False, repr=False)
    _job_patterns: dict[int, PrometheusRegex] = field(init=False, repr=False)
    _cache: dict[str, Budget] = field(init=False, repr=False, default_factory=dict)
    _defaults: Budget = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_defaults", self._budget(None, None))
        by_name: dict[str, int] = {}
        for index, entry in enumerate(self.model.metrics):
            if entry.name is not None:
                by_name.setdefault(entry.name, index)
        object.__setattr__(self, "_by_name", by_name)
        patterns = [(i, prometheus_regex(e.match)) for i, e in enumerate(self.model.metrics) if e.match is not None]
        object.__setattr__(self, "_patterns", patterns)
        jobs = {i: prometheus_regex(e.match) for i, e in enumerate(self.model.jobs) if e.match is not None}
        object.__setattr__(self, "_job_patterns", jobs)

    @property
    def entries(self) -> int:
        return len(self.model.metrics)

    def on(self, day: date) -> Budgets:
        """The budgets in force on ``day``: an exception whose ``until`` has passed no longer applies.

        Evaluation asks with the day of the census (the injected clock's), so an exception expires
        while the daemon runs, not at the next restart or file change.
        """
        return self if day == self.today else replace(self, today=day)

    def growth_windows(self) -> set[timedelta]:
        """Every window any growth limit uses: the history the growth check needs."""
        limits = [self.model.defaults.max_growth, *(e.max_growth or {} for e in self.model.metrics)]
        return {window for growth in limits for window in _windows(growth)}

    def job_growth_windows(self) -> set[timedelta]:
        """Every window a ``jobs:`` entry's growth limit uses."""
        return {window for entry in self.model.jobs for window in _windows(entry.max_growth or {})}

    @property
    def has_label_policy(self) -> bool:
        scopes: list[DefaultsSpec | MetricEntrySpec] = [self.model.defaults, *self.model.metrics]
        return any(scope.labels_allowed is not None or scope.labels_denied for scope in scopes)

    def policy_labels(self, names: Iterable[str]) -> list[str]:
        """Of the label names a server holds, those some scope of the policy forbids: denied ones first.

        Only these need a look on the server; a label every scope allows cannot be a violation.
        """
        scopes = [self._defaults, *(self._budget(entry, i) for i, entry in enumerate(self.model.metrics))]
        forbidden = {name for name in names if any(scope.forbids(name) for scope in scopes)}
        denied = {name for name in forbidden if any(name in scope.labels_denied for scope in scopes)}
        return sorted(denied) + sorted(forbidden - denied)

    def for_job(self, job: str) -> Budget | None:
        """The first ``jobs:`` entry that names or matches ``job``; None when none does (no job budget)."""
        for index, entry in enumerate(self.model.jobs):
            pattern = self._job_patterns.get(index)
            if entry.name == job or (pattern is not None and pattern.fullmatch(job)):
                return self._job_budget(entry, index)
        return None

    def job_owner(self, job: str) -> str:
        budget = self.for_job(job)
        return budget.owner if budget else self.model.defaults.owner

    def _job_budget(self, entry: JobEntrySpec, index: int) -> Budget:
        return Budget(
            **self._entry_fields(entry, index, entry.max_series),
            max_growth=_windows(entry.max_growth or {}),
            growth_min_series=self.model.defaults.growth_min_series,
            labels={},
        )

    def _entry_fields(self, entry: EntrySpec, index: int | None, max_series: int) -> dict[str, Any]:
        """What a metric or job entry's budget takes from the entry: owner, ratio, and its exception if in force."""
        defaults = self.model.defaults
        in_force = entry.exception and (self.today is None or entry.exception.until >= self.today)
        exception = entry.exception if in_force else None
        return {
            "owner": entry.owner or defaults.owner,
            "max_series": exception.max_series if exception else max_series,
            "warn_ratio": entry.warn_ratio if entry.warn_ratio is not None else defaults.warn_ratio,
            "explicit": True,
            "entry": index,
            "exception_reason": exception.reason if exception else None,
            "exception_until": exception.until if exception else None,
        }

    def for_metric(self, metric: str) -> Budget:
        """The first entry that names or matches ``metric`` (regexes are fully anchored), else the defaults."""
        cached = self._cache.get(metric)
        if cached is None:
            index = self._first_entry(metric)
            cached = self._defaults if index is None else self._budget(self.model.metrics[index], index)
            self._cache[metric] = cached
        return cached

    def _first_entry(self, metric: str) -> int | None:
        exact = self._by_name.get(metric)
        for index, pattern in self._patterns:
            if exact is not None and index > exact:
                break
            if pattern.fullmatch(metric):
                return index
        return exact

    def _budget(self, entry: MetricEntrySpec | None, index: int | None) -> Budget:
        defaults = self.model.defaults
        if entry is None:
            return Budget(
                owner=defaults.owner,
                max_series=defaults.max_series,
                warn_ratio=defaults.warn_ratio,
                max_growth=_windows(defaults.max_growth),
                growth_min_series=defaults.growth_min_series,
                labels={k: v.max_values for k, v in defaults.labels.items()},
                explicit=False,
                **_policy(defaults.labels_allowed, defaults.labels_denied),
            )
        max_series = entry.max_series if entry.max_series is not None else defaults.max_series
        return Budget(
            **self._entry_fields(entry, index, max_series),
            max_growth=_windows(entry.max_growth if entry.max_growth is not None else defaults.max_growth),
            growth_min_series=defaults.growth_min_series,
            labels={k: v.max_values for k, v in {**defaults.labels, **entry.labels}.items()},
            **_policy(*_entry_policy(entry, defaults)),
        )


def _entry_policy(entry: MetricEntrySpec, defaults: DefaultsSpec) -> tuple[Sequence[str] | None, Sequence[str]]:
    """An entry's lists replace the defaults'; a label the entry allows by name is no longer denied by them."""
    allowed = entry.labels_allowed if entry.labels_allowed is not None else defaults.labels_allowed
    if entry.labels_denied is not None:
        return allowed, entry.labels_denied
    return allowed, [name for name in defaults.labels_denied if name not in (entry.labels_allowed or ())]


def _policy(allowed: Sequence[str] | None, denied: Sequence[str]) -> dict[str, Any]:
    return {
        "labels_allowed": None if allowed is None else frozenset(allowed),
        "labels_denied": frozenset(denied),
    }


def _windows(growth: Mapping[str, float]) -> dict[timedelta, float]:
    return {parse_duration(str(window)): limit for window, limit in growth.items()}


def default_budgets() -> Budgets:
    """The budgets in force when no file is configured: the documented defaults only."""
    return Budgets(NoBudgetsFile())

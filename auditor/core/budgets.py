"""Budgets as code: the model of ``rules/budgets.yml`` (docs/budgets.md; read by ``auditor.config.budgets``).

budget = budgets.on(day).for_metric("user_sessions")   # first entry that matches wins
budget.owner, budget.max_series, budget.labels           # 'team-identity', 400, {'user_id': 100}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, Strict, field_validator, model_validator

from auditor.core.durations import parse_duration
from auditor.core.regex import PrometheusRegex, prometheus_regex
from auditor.core.strict import StrictModel

DEFAULT_OWNER = "unowned"

ALWAYS_ALLOWED = frozenset({"__name__", "job", "instance", "le", "quantile"})
"""Labels no policy forbids: the ones Prometheus adds to every target, and those of histograms and summaries."""

INT64_MAX = 2**63 - 1
Count = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]
"""A count the store keeps (a 64-bit integer column): a budget of 2^63 or more is an error at its line."""
Ratio = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
GrowthLimit = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class LabelLimit(StrictModel):
    max_values: Count


def _label_name(name: str) -> str:
    if not name or not name.isprintable() or any(c.isspace() for c in name):
        raise ValueError(f"{name!r} is not a label name (no spaces or control characters)")
    if name in ALWAYS_ALLOWED:
        raise ValueError(f"{name!r} is always allowed (like {', '.join(sorted(ALWAYS_ALLOWED))}); remove it")
    if name.startswith("__"):
        raise ValueError(f"{name!r}: names starting with '__' are reserved for Prometheus' own use")
    return name


LabelName = Annotated[str, AfterValidator(_label_name)]


def _label_names(value: list[str] | None) -> list[str] | None:
    """A policy list names each label once."""
    repeated = sorted({name for name in value or () if value and value.count(name) > 1})
    if repeated:
        raise ValueError(f"{', '.join(repeated)} listed more than once")
    return value


def _one_list_per_label(allowed: list[str] | None, denied: list[str] | None) -> None:
    both = sorted(set(allowed or ()) & set(denied or ()))
    if both:
        raise ValueError(f"{', '.join(both)} both in labels_allowed and labels_denied; keep one")


class BudgetException(StrictModel):
    """A temporary raise of ``max_series`` until a date, with the reason written down."""

    max_series: Count
    until: date
    reason: str = Field(min_length=1)


def _growth_windows(value: dict[str, float] | None) -> dict[str, float] | None:
    if value is None:
        return None
    for window in value:
        try:
            parse_duration(str(window))
        except ValueError as exc:
            raise ValueError(f"growth window {window!r}: {exc}") from exc
    return value


def _valid_regex(value: str | None) -> str | None:
    if value is not None:
        prometheus_regex(value)  # a ValueError naming RE2's reason, as Prometheus would refuse it
    return value


class Defaults(StrictModel):
    owner: str = Field(DEFAULT_OWNER, min_length=1)
    max_series: Count = 10_000
    warn_ratio: Ratio = 0.8
    max_growth: dict[str, GrowthLimit] = Field(default_factory=dict)
    growth_min_series: Count = 100
    labels: dict[str, LabelLimit] = Field(default_factory=dict)
    labels_allowed: list[LabelName] | None = None
    labels_denied: list[LabelName] = Field(default_factory=list)

    _windows = field_validator("max_growth")(_growth_windows)
    _policy = field_validator("labels_allowed", "labels_denied")(_label_names)

    @model_validator(mode="after")
    def _disjoint(self) -> Defaults:
        _one_list_per_label(self.labels_allowed, self.labels_denied)
        return self


class _Entry(StrictModel):
    """What metric and job entries share: which names they cover, whose they are, and a temporary raise."""

    WHAT: ClassVar[str] = "metric"
    name: str | None = Field(None, min_length=1)
    match: str | None = Field(None, min_length=1)
    owner: str | None = Field(None, min_length=1)
    warn_ratio: Ratio | None = None
    max_growth: dict[str, GrowthLimit] | None = None
    exception: BudgetException | None = None
    description: str | None = None

    _windows = field_validator("max_growth")(_growth_windows)
    _compiles = field_validator("match")(_valid_regex)

    @model_validator(mode="after")
    def _name_or_match(self) -> _Entry:
        if (self.name is None) == (self.match is None):
            entry = "entry" if self.WHAT == "metric" else f"{self.WHAT} entry"
            raise ValueError(f"each {entry} needs exactly one of `name` (exact {self.WHAT} name) or `match` (regex)")
        return self


class MetricEntry(_Entry):
    max_series: Count | None = None
    labels: dict[str, LabelLimit] = Field(default_factory=dict)
    labels_allowed: list[LabelName] | None = None
    labels_denied: list[LabelName] | None = None

    _policy = field_validator("labels_allowed", "labels_denied")(_label_names)

    @model_validator(mode="after")
    def _disjoint(self) -> MetricEntry:
        _one_list_per_label(self.labels_allowed, self.labels_denied)
        return self


class JobEntry(_Entry):
    """A scrape job's budget: series summed over its targets (docs/budgets.md ``jobs:``)."""

    WHAT: ClassVar[str] = "job"
    max_series: Count


class BudgetsModel(StrictModel):
    defaults: Defaults = Defaults()
    metrics: list[MetricEntry] = Field(default_factory=list)
    jobs: list[JobEntry] = Field(default_factory=list)


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
    model: BudgetsModel
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
        scopes: list[Defaults | MetricEntry] = [self.model.defaults, *self.model.metrics]
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

    def _job_budget(self, entry: JobEntry, index: int) -> Budget:
        return Budget(
            **self._entry_fields(entry, index, entry.max_series),
            max_growth=_windows(entry.max_growth or {}),
            growth_min_series=self.model.defaults.growth_min_series,
            labels={},
        )

    def _entry_fields(self, entry: _Entry, index: int | None, max_series: int) -> dict[str, Any]:
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

    def _budget(self, entry: MetricEntry | None, index: int | None) -> Budget:
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
            labels={k: v.max_values for k, v in (defaults.labels | entry.labels).items()},
            **_policy(*_entry_policy(entry, defaults)),
        )


def _entry_policy(entry: MetricEntry, defaults: Defaults) -> tuple[list[str] | None, list[str]]:
    """An entry's lists replace the defaults'; a label the entry allows by name is no longer denied by them."""
    allowed = entry.labels_allowed if entry.labels_allowed is not None else defaults.labels_allowed
    if entry.labels_denied is not None:
        return allowed, entry.labels_denied
    return allowed, [name for name in defaults.labels_denied if name not in (entry.labels_allowed or ())]


def _policy(allowed: list[str] | None, denied: list[str]) -> dict[str, Any]:
    return {
        "labels_allowed": None if allowed is None else frozenset(allowed),
        "labels_denied": frozenset(denied),
    }


def _windows(growth: dict[str, float]) -> dict[timedelta, float]:
    return {parse_duration(str(window)): limit for window, limit in growth.items()}


def default_budgets() -> Budgets:
    """The budgets in force when no file is configured: the documented defaults only."""
    return Budgets(BudgetsModel())

"""The schema of ``rules/budgets.yml`` (docs/budgets.md): every field validated at its line, the defaults
those of ``core.budgets.DEFAULTS``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import AfterValidator, Field, Strict, field_validator, model_validator

from auditor.core.budgets import ALWAYS_ALLOWED, DEFAULTS
from auditor.core.durations import parse_duration
from auditor.core.regex import prometheus_regex
from auditor.core.strict import StrictModel

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
    owner: str = Field(DEFAULTS.owner, min_length=1)
    max_series: Count = DEFAULTS.max_series
    warn_ratio: Ratio = DEFAULTS.warn_ratio
    max_growth: dict[str, GrowthLimit] = Field(default_factory=dict)
    growth_min_series: Count = DEFAULTS.growth_min_series
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

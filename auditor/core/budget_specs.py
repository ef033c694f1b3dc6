"""The budgets file as the budgets read it: what ``config/budgets_schema.py`` validates, seen through read-only
protocols, so that ``core`` needs no schema (and a test or the defaults can hand a plain object)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Protocol


class LabelLimitSpec(Protocol):
    @property
    def max_values(self) -> int: ...


class ExceptionSpec(Protocol):
    @property
    def max_series(self) -> int: ...

    @property
    def until(self) -> date: ...

    @property
    def reason(self) -> str: ...


class DefaultsSpec(Protocol):
    """``defaults:`` of the budgets file, as the budgets read it."""

    @property
    def owner(self) -> str: ...

    @property
    def max_series(self) -> int: ...

    @property
    def warn_ratio(self) -> float: ...

    @property
    def max_growth(self) -> Mapping[str, float]: ...

    @property
    def growth_min_series(self) -> int: ...

    @property
    def labels(self) -> Mapping[str, LabelLimitSpec]: ...

    @property
    def labels_allowed(self) -> Sequence[str] | None: ...

    @property
    def labels_denied(self) -> Sequence[str]: ...


class EntrySpec(Protocol):
    """What metric and job entries share."""

    @property
    def name(self) -> str | None: ...

    @property
    def match(self) -> str | None: ...

    @property
    def owner(self) -> str | None: ...

    @property
    def warn_ratio(self) -> float | None: ...

    @property
    def max_growth(self) -> Mapping[str, float] | None: ...

    @property
    def exception(self) -> ExceptionSpec | None: ...


class MetricEntrySpec(EntrySpec, Protocol):
    @property
    def max_series(self) -> int | None: ...

    @property
    def labels(self) -> Mapping[str, LabelLimitSpec]: ...

    @property
    def labels_allowed(self) -> Sequence[str] | None: ...

    @property
    def labels_denied(self) -> Sequence[str] | None: ...


class JobEntrySpec(EntrySpec, Protocol):
    @property
    def max_series(self) -> int: ...


class BudgetsSpec(Protocol):
    """A budgets file as ``config/budgets_schema.py`` validated it (or none: ``NO_FILE``)."""

    @property
    def defaults(self) -> DefaultsSpec: ...

    @property
    def metrics(self) -> Sequence[MetricEntrySpec]: ...

    @property
    def jobs(self) -> Sequence[JobEntrySpec]: ...

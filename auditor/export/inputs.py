"""What the self-metrics read, as the shapes export needs: the objects that hold them live in ``app`` and
``config`` (the cycle's stats, the followed files, the export settings), and export imports neither."""

from __future__ import annotations

from typing import Protocol

from auditor.core.budgets import Budgets
from auditor.export.stats import StatsView


class StatsSource(Protocol):
    """The cycles' figures, one consistent copy per scrape."""

    def view(self) -> StatsView: ...


class FollowedFile(Protocol):
    """A file the daemon follows (the budgets file, the desired rules): its last read and its failed reloads."""

    @property
    def valid(self) -> bool: ...

    @property
    def reload_failures(self) -> int: ...

    @property
    def loaded_at(self) -> float | None: ...


class FollowedBudgets(FollowedFile, Protocol):
    """The budgets file, with the budgets in force."""

    @property
    def value(self) -> Budgets: ...


class ExportCaps(Protocol):
    """How many metrics get per-metric series on ``/metrics`` (``AUDITOR_EXPORT__*``)."""

    @property
    def top_n(self) -> int: ...

    @property
    def max_metrics(self) -> int: ...

"""The budgets file (``rules/budgets.yml``, docs/budgets.md), loaded, validated and followed.

    budgets = load_budgets(Path("rules/budgets.yml"))
    budget = budgets.for_metric("user_sessions")      # first entry that matches wins

Every error names ``FILE:LINE`` and the field; an expired exception is a warning, not an error.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import ValidationError

from auditor.config.budgets_schema import BudgetsModel
from auditor.config.reloadable import Reloadable
from auditor.config.yamlfile import YamlDocument, load_yaml, validation_messages
from auditor.core.budgets import Budgets, default_budgets
from auditor.core.domain import Clock
from auditor.core.errors import BudgetsError


def load_budgets(path: Path, today: date | None = None) -> Budgets:
    """Parse and validate ``path``; raises ``BudgetsError`` with ``FILE:LINE: field: message`` lines.

    ``today`` (from the caller's clock) dates the exceptions and warns about the expired ones; without
    it every exception is in force until evaluation asks with the census' day (``Budgets.on``).
    """
    doc = load_yaml(path, error=BudgetsError)
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise BudgetsError(f"{path}:1: a budgets file is a mapping with `defaults` and `metrics`")
    try:
        model = BudgetsModel.model_validate(data)
    except ValidationError as exc:
        raise BudgetsError("\n".join(validation_messages(exc, doc, "docs/budgets.md"))) from exc
    warnings = tuple(_warnings(model, doc, today)) if today is not None else ()
    return Budgets(model, path, warnings, today)


def _warnings(model: BudgetsModel, doc: YamlDocument, today: date) -> list[str]:
    warnings = []
    for index, entry in enumerate(model.metrics):
        if entry.exception is not None and entry.exception.until < today:
            where = doc.where(("metrics", index, "exception", "until"))
            target = entry.name or entry.match
            until = entry.exception.until.isoformat()
            warnings.append(f"{where}: exception for {target!r} expired on {until}; the normal budget applies again")
    return warnings


class BudgetsProvider(Reloadable[Budgets]):
    """The budgets in force, reloaded when the file changes (or on SIGHUP); a broken edit keeps the last good ones."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        def load(file: Path) -> Budgets:
            return load_budgets(file, clock.now().date())

        super().__init__(
            path, load, default_budgets(), "budgets", clock=clock, warnings=lambda budgets: budgets.warnings
        )

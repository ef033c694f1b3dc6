"""The one base of every document operators write (settings sections, budgets, rule files)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors (a misspelt key must not pass silently); a validated document is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

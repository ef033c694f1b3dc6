"""``metrics-auditor fixes``: every remedy printed, its proof, its prediction and what was measured after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from rich.markup import escape
from rich.table import Table

from auditor.core.fixes import LedgerFix
from auditor.core.remedies import BY_JOB
from auditor.export.terminal import console


@dataclass(frozen=True)
class FixesView:
    source: str
    fixes: list[LedgerFix]
    owners: dict[str, str]


def fix_json(fix: LedgerFix, owner: str) -> dict[str, object]:
    """docs/cli.md: ``{"id", "source", "metric", "label", "action", "state", "proposed_at", "applied_at",
    "series_before", "predicted_series", "measured_series", "error_ratio", "proof"}``, with the owner."""
    job = fix.action in BY_JOB
    return {
        "id": fix.id, "source": fix.source, "metric": fix.metric, "label": None if job else fix.label or None,
        **({"job": fix.label} if job else {}),
        "action": fix.action.value, "state": fix.state.value, "safe": fix.safe, "owner": owner,
        "proposed_at": fix.proposed_at.isoformat(), "applied_at": _iso(fix.applied_at),
        "state_since": fix.state_at.isoformat(), "observed_at": _iso(fix.observed_at),
        "series_before": fix.series_before, "predicted_series": fix.predicted_series,
        "measured_series": fix.measured_series, "error_ratio": fix.error_ratio, "series_saved": fix.series_saved,
        "proof": fix.proof,
    }  # fmt: skip


def fixes_json(view: FixesView) -> dict[str, object]:
    return {"source": view.source, "fixes": [fix_json(f, view.owners.get(f.metric, "unowned")) for f in view.fixes]}


def print_fixes(view: FixesView, out: TextIO) -> None:
    term = console(out)
    term.print(f"{escape(view.source)}: {len(view.fixes)} fixes in the ledger")
    if not view.fixes:
        return
    table = Table()
    for column, justify in (("id", "right"), ("metric", "left"), ("label", "left"), ("action", "left"),
                            ("state", "left"), ("owner", "left"), ("before", "right"), ("predicted", "right"),
                            ("measured", "right"), ("error", "right"), ("proposed", "left")):  # fmt: skip
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for f in view.fixes:
        table.add_row(
            str(f.id), escape(f.metric), _label(f), f.action.value, f.state.value,
            escape(view.owners.get(f.metric, "unowned")), f"{f.series_before:,}", _n(f.predicted_series),
            _n(f.measured_series), "-" if f.error_ratio is None else f"{f.error_ratio:+.1%}",
            f"{f.proposed_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
    term.print(table)


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _label(fix: LedgerFix) -> str:
    """The label a fix removes, or the job a histogram's fix is for."""
    if fix.action in BY_JOB:
        return f"job {escape(fix.label)}"
    return escape(fix.label) or "-"

"""`metrics-auditor report`: the weekly audit report from stored history (Prometheus need not answer)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.cli.commands.common import open_store, stored_source
from auditor.config.settings import Settings
from auditor.core.errors import ConfigError

if TYPE_CHECKING:
    from auditor.core.budgets import Budgets
    from auditor.core.calendar import Period


def report(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.app.fixes import record_fixes
    from auditor.app.reporting import gather
    from auditor.app.wiring import budgets_in_force
    from auditor.core.calendar import range_period, week_period
    from auditor.evaluate.report import build
    from auditor.export.report_render import render

    period: Period
    if args.week:
        period = week_period(args.week, settings.timezone)
    else:
        until = args.until or args.clock.now()
        period = range_period(args.since or until - timedelta(days=7), until)
    budgets = budgets_in_force(settings, args.clock)
    if args.all_sources:
        _write(_fleet(settings, period, budgets, args, args.clock.now()), args.output)
        return 0
    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        if source is None:
            raise ConfigError("no history stored yet: run `metrics-auditor audit` or the daemon first")
        built = build(gather(store, settings, source, period, budgets=budgets, owner=args.owner))
        record_fixes(store, settings, built, args.clock.now())
    text = render(built, args.format, args.clock.now())
    _write(text, args.output)
    return 0


def _fleet(settings: Settings, period: Period, budgets: Budgets, args: argparse.Namespace, now: datetime) -> str:
    """One row per stored source: the fleet report."""
    from auditor.app.reporting import gather
    from auditor.evaluate.fleet import build_fleet
    from auditor.evaluate.report import build
    from auditor.export.report_render import render_fleet

    with ExitStack() as stack:
        store = open_store(stack, settings)
        sources = store.sources()
        if not sources:
            raise ConfigError("no history stored yet: run `metrics-auditor audit` or the daemon first")
        reports = {s: build(gather(store, settings, s, period, budgets=budgets, owner=args.owner)) for s in sources}
    return render_fleet(build_fleet(reports, period.label), args.format, now)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--output {output}: cannot write: {exc.strerror}") from exc
    print(f"report written to {output}", file=sys.stderr)

"""Budget commands: `check` (the CI verdict) and `budgets check` (review-time validation)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from typing import TYPE_CHECKING

from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.budgets import load_budgets
from auditor.config.settings import Settings
from auditor.core.domain import Census, LabelStats
from auditor.core.errors import BudgetsError, ConfigError
from auditor.core.findings import MetricFinding

if TYPE_CHECKING:
    from datetime import datetime

    from auditor.core.budgets import Budgets
    from auditor.evaluate import Evaluation
    from auditor.evaluate.remedies import Readers
    from auditor.export.console import CheckReport
    from auditor.store import Store


def check(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.app.cycle_inputs import evaluation_input
    from auditor.evaluate import evaluate
    from auditor.export.console import CheckReport, check_json, print_check

    budgets = budgets_in_force(settings, args.clock)
    with ExitStack() as stack:
        store = open_store(stack, settings)
        census, labels, snapshot_id = _newest_cycle(store, args.source or settings.source)
        jobs = store.jobs_of(snapshot_id)
        in_force = budgets.on(args.clock.now().date())  # an exception ends on its day, whatever the file was loaded
        evaluation = evaluate(
            evaluation_input(store, census, in_force, labels, settings, jobs=jobs if jobs.jobs else None)
        )
        since = {f.identity: f.first_seen for f in store.open_findings(census.source)}
        readers = _readers(
            store, settings, census, labels, evaluation=evaluation, now=args.clock.now(), budgets=in_force
        )
        report = CheckReport(census, evaluation, labels, since, jobs.attribution, readers)
        _record(store, settings, report, args.clock.now())
    if args.format == "json":
        write_json(check_json(report), sys.stdout)
    else:
        print_check(report, sys.stdout)
    return 1 if evaluation.violations else 0


def validate(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or settings.effective_budgets_file
    if path is None:
        raise ConfigError("no budgets file: give one (`budgets check FILE`) or set AUDITOR_BUDGETS_FILE")
    try:
        budgets = load_budgets(path, args.clock.now().date())
    except BudgetsError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    for warning in budgets.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    defaults = budgets.model.defaults
    print(
        f"{path}: valid: {budgets.entries} entries; defaults: owner {defaults.owner}, "
        f"max_series {defaults.max_series:,}, warn at {defaults.warn_ratio:.0%}"
    )
    return 0


def init(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.export.starter_budgets import StarterInput, StarterOptions, render

    with ExitStack() as stack:
        census, labels, _ = _newest_cycle(open_store(stack, settings), args.source or settings.source)
    options = StarterOptions(top=args.top, headroom=args.headroom, owner=args.owner)
    sys.stdout.write(render(StarterInput(census, labels), options))
    return 0


def _readers(
    store: Store, settings: Settings, census: Census, labels: dict[str, dict[str, LabelStats]], *,
    evaluation: Evaluation, now: datetime, budgets: Budgets,
) -> dict[str, Readers]:  # fmt: skip
    """Who reads each metric over budget and its labels: what its remedy must not break."""
    from auditor.app.remedies import offender_readers

    offenders = {f.metric for f in evaluation.violations if isinstance(f, MetricFinding)}
    if not offenders:
        return {}
    versions = store.rule_versions(census.source)
    found = store.rule_version(versions[-1].id) if versions else None
    return offender_readers(
        store, settings, census, now, rules=found[1] if found else None, budgets=budgets,
        metrics={metric: labels.get(metric, {}) for metric in offenders},
    )  # fmt: skip


def _record(store: Store, settings: Settings, report: CheckReport, now: datetime) -> None:
    """What ``check`` prints goes into the fix ledger, as the daemon's cycles do; a store that refuses the write
    (read-only) costs the ledger this print, never the verdict."""
    from auditor.core.errors import StoreError

    remedies = [report.remedy(f) for f in report.evaluation.violations if isinstance(f, MetricFinding)]
    try:
        store.fixes.record(report.census.source, settings.prometheus_url_for_logs, remedies, now)
    except StoreError as exc:
        print(f"warning: the fix ledger did not record this check: {exc}", file=sys.stderr)


def _newest_cycle(store: Store, source: str | None) -> tuple[Census, dict[str, dict[str, LabelStats]], int]:
    """The newest stored census of the source, with its drill-down and its snapshot id."""
    name = stored_source(store, source)
    latest = store.latest_census(name) if name else None
    if latest is None:
        raise ConfigError("no census is stored yet: run `metrics-auditor audit` (or the daemon) first")
    snapshot_id, census = latest
    return census, store.drilldown(snapshot_id), snapshot_id

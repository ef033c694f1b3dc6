"""``metrics-auditor plan``: before it ships, an exporter's output after relabeling, times its targets, against the
budgets and the label policy; exit 1 when a violation would open."""

from __future__ import annotations

import argparse
import sys

from auditor.app.plan import PlanRequest, plan_input, record_plan
from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import write_json
from auditor.config.settings import Settings
from auditor.evaluate.plan import plan
from auditor.export.plan_output import plan_json, print_plan


def plan_command(args: argparse.Namespace, settings: Settings) -> int:
    request = PlanRequest(args.exposition, args.job, args.targets, args.relabel)
    inp, known = plan_input(settings, request, budgets_in_force(settings, args.clock), args.clock.now())
    result = plan(inp)
    if args.record:
        source = record_plan(settings, result.job, {m.name: m.series_after for m in result.metrics}, args.clock.now())
        known.notes.append(f"recorded for {source}: the cycles after the deploy measure it (metrics-auditor report)")
    if args.format == "json":
        write_json(plan_json(result, known.notes), sys.stdout)
    else:
        print_plan(result, known.notes, sys.stdout, markdown=args.format == "markdown")
    return 1 if result.violations else 0

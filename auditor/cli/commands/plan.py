"""``metrics-auditor plan``: before it ships, an exporter's output after relabeling, times its targets, against the
budgets and the label policy; exit 1 when a violation would open."""

from __future__ import annotations

import argparse
import sys

from auditor.app.plan import PlanRequest, plan_input
from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import write_json
from auditor.config.settings import Settings
from auditor.evaluate.plan import plan
from auditor.export.plan_output import plan_json, print_plan


def plan_command(args: argparse.Namespace, settings: Settings) -> int:
    request = PlanRequest(args.exposition, args.job, args.targets, args.relabel)
    inp, known = plan_input(settings, request, budgets_in_force(settings, args.clock), args.clock.now())
    result = plan(inp)
    if args.format == "json":
        write_json(plan_json(result, known.unknown), sys.stdout)
    else:
        print_plan(result, known.unknown, sys.stdout, markdown=args.format == "markdown")
    return 1 if result.violations else 0

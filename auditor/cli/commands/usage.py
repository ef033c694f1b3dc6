"""``metrics-auditor usage``: which metrics queries, rules and dashboards read (the store and settings only)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from auditor.app.usage import dashboards_of, usage_input
from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.core.errors import ConfigError
from auditor.evaluate.usage import Status, judge
from auditor.export.usage_output import UsageView, print_usage, usage_json


def usage(args: argparse.Namespace, settings: Settings) -> int:
    now = args.clock.now()
    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        latest = store.latest_census(source) if source else None
        if source is None or latest is None:
            raise ConfigError("no census is stored yet: run `metrics-auditor audit` (or the daemon) first")
        census = latest[1]
        if args.metric is not None and args.metric not in census.metrics:
            raise ConfigError(f"metric {args.metric!r} is not in the newest census of {source}")
        versions = store.rule_versions(source)
        found = store.rule_version(versions[-1].id) if versions else None
        inp = usage_input(
            store, settings, census, now, rules=found[1] if found else None, dashboards=dashboards_of(settings)
        )
        days = (
            store.usage.daily(source, (now - settings.usage.unused_after).date(), args.metric) if args.metric else None
        )
    verdicts = judge(inp, budgets_in_force(settings, args.clock))
    if args.metric is not None:
        verdicts = [v for v in verdicts if v.metric == args.metric]
    elif args.unused:
        verdicts = [v for v in verdicts if v.status is Status.UNUSED]
    per_day = None if days is None else {day: reads for (day, _), reads in days.items()}
    view = UsageView(source, census.collected_at, settings.usage.unused_after, inp.coverage, verdicts, per_day)
    if args.format == "json":
        write_json(usage_json(view), sys.stdout)
    else:
        print_usage(view, sys.stdout, unused_only=args.unused)
    return 0

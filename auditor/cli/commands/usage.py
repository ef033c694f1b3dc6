"""``metrics-auditor usage``: which metrics queries, rules and dashboards read (the store and settings only)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import datetime

from auditor.app.remedies import label_verdicts
from auditor.app.usage import dashboards_of, usage_input
from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.core.domain import Census
from auditor.core.errors import ConfigError
from auditor.core.rulesets import RuleSet
from auditor.evaluate.label_usage import LabelVerdict
from auditor.evaluate.usage import Status, judge
from auditor.export.usage_output import UsageView, print_usage, usage_json
from auditor.store import Store


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
        labels = _labels(store, settings, census, args.metric, latest[0], now=now, rules=found[1] if found else None,
                         logged=inp.coverage is not None)  # fmt: skip
    verdicts = judge(inp, budgets_in_force(settings, args.clock))
    if args.metric is not None:
        verdicts = [v for v in verdicts if v.metric == args.metric]
    elif args.unused:
        verdicts = [v for v in verdicts if v.status is Status.UNUSED]
    per_day = None if days is None else {day: reads for (day, _), reads in days.items()}
    view = UsageView(source, census.collected_at, settings.usage.unused_after, inp.coverage, verdicts, per_day, labels)
    if args.format == "json":
        write_json(usage_json(view), sys.stdout)
    else:
        print_usage(view, sys.stdout, unused_only=args.unused)
    return 0


def _labels(
    store: Store, settings: Settings, census: Census, metric: str | None, snapshot_id: int, *, now: datetime,
    rules: RuleSet | None, logged: bool,
) -> dict[str, list[LabelVerdict]]:  # fmt: skip
    """Who reads each label of the metric (or of every metric): its drill-down's labels and any a reader names."""
    drill = store.drilldown(snapshot_id)
    wanted = [metric] if metric else list(census.metrics)
    labels = {m: list(drill.get(m, {})) for m in wanted}
    return label_verdicts(store, settings, census, now, rules=rules, labels=labels, logged=logged)

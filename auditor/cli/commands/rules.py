"""Rule commands: `rules diff`, `rules status`, `rules history`."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.app.rulesource import LIVE, check_spec, resolve
from auditor.cli.commands.common import open_client, open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.core.errors import ConfigError
from auditor.core.rulesets import comparable
from auditor.evaluate.rules_diff import RulesDiff, diff
from auditor.export.rules_output import (
    Impacts,
    diff_json,
    drift_json,
    markdown,
    print_text,
    print_versions,
    versions_json,
)

if TYPE_CHECKING:
    from auditor.collect.client import PrometheusClient


def diff_command(args: argparse.Namespace, settings: Settings) -> int:
    check_spec(args.old)
    check_spec(args.new)
    with ExitStack() as stack:
        live = (
            open_client(stack, settings, settings.prometheus_url, args.clock) if LIVE in (args.old, args.new) else None
        )
        estimate = open_client(stack, settings, args.prometheus.rstrip("/"), args.clock) if args.prometheus else None
        store = open_store(stack, settings) if args.old.startswith("@") or args.new.startswith("@") else None
        old = resolve(args.old, prometheus=live, store=store)
        new = resolve(args.new, prometheus=live, store=store)
        # A loaded side carries its own interval; the estimate server's stands in only where none does.
        known = (old.loaded and new.loaded) or any(side.evaluation_interval is not None for side in (old, new))
        interval = estimate.evaluation_interval() if estimate and not known else None
        old, new = comparable(old, new, interval)
        result = diff(old, new)
        impacts = _estimate(estimate, result, args.clock.now()) if estimate else None
    _print(result, impacts, args.format)
    return 0 if result.same else 1


def status(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.app.rulesource import live_rules
    from auditor.config.rulefiles import load_path
    from auditor.core.rulesets import align

    if settings.rules_dir is None:
        raise ConfigError(
            "AUDITOR_RULES_DIR is not set: point it at the desired recording rules (e.g. rules/recording)"
        )
    desired = load_path(settings.rules_dir)
    with ExitStack() as stack:
        live = live_rules(open_client(stack, settings, settings.prometheus_url, args.clock))
        desired, live = align(desired, live, live.evaluation_interval)
    result = diff(live, desired)
    if args.format == "json":
        write_json(drift_json(result), sys.stdout)
    else:
        _print(result, None, args.format)
    return 0 if result.same else 1


def history(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        versions = store.rule_versions(source) if source else []
    if args.format == "json":
        write_json(versions_json(versions), sys.stdout)
    else:
        print_versions(versions, sys.stdout)
    return 0


def _estimate(estimate: PrometheusClient, result: RulesDiff, now: datetime) -> Impacts:
    from auditor.collect.impact import ImpactEstimator  # httpx only when --prometheus asks

    added = [(rule, result.new.group_of(rule)) for rule in result.added]
    changed = [(change.old, change.new, change.new_group) for change in result.changed]
    return ImpactEstimator(estimate, now).assess(added, result.removed, changed)


def _print(result: RulesDiff, impacts: Impacts | None, fmt: str) -> None:
    if fmt == "json":
        write_json(diff_json(result, impacts), sys.stdout)
    elif fmt == "markdown":
        sys.stdout.write(markdown(result, impacts))
    else:
        print_text(result, sys.stdout, impacts)

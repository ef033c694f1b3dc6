"""``metrics-auditor fixes``: the fix ledger of a source, from the store (no Prometheus needed)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.core.errors import ConfigError
from auditor.export.fixes_output import FixesView, fixes_json, print_fixes


def fixes(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        if source is None:
            raise ConfigError("no census is stored yet: run `metrics-auditor audit` (or the daemon) first")
        ledger = store.fixes.all(source)
    budgets = budgets_in_force(settings, args.clock)
    view = FixesView(source, ledger, {f.metric: budgets.for_metric(f.metric).owner for f in ledger})
    if args.format == "json":
        write_json(fixes_json(view), sys.stdout)
    else:
        print_fixes(view, sys.stdout)
    return 0

"""``metrics-auditor histograms``: the newest stored histogram inventory, judged against the readers of each family
(desired rules, dashboards, the query log); no Prometheus needed."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from auditor.app.histograms import histogram_view, rewrite_rule_files
from auditor.app.wiring import budgets_in_force
from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.core.errors import ConfigError
from auditor.export.histograms_output import histograms_json, print_histograms


def histograms(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        view = histogram_view(store, settings, source, budgets_in_force(settings, args.clock)) if source else None
    if view is None:
        raise ConfigError(
            "no histogram inventory is stored yet: run `metrics-auditor audit` (or the daemon) with "
            "AUDITOR_HISTOGRAMS__MAX_FAMILIES above 0 (50 by default)"
        )
    written = []
    if args.rules_out is not None:
        converted = {e.family.metric for e in view.entries if e.switch.recommended}
        written = rewrite_rule_files(settings, converted, args.rules_out)
    if args.format == "json":
        write_json(histograms_json(view) | {"rules_written": [str(p) for p in written]}, sys.stdout)
    else:
        print_histograms(view, sys.stdout)
        for path in written:
            print(f"rewritten rules (dual-period form): {path}")
    return 0

"""``metrics-auditor jobs``: the newest stored job census (no Prometheus needed)."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.core.errors import ConfigError
from auditor.evaluate.checks.forecast import limit_forecasts
from auditor.export.jobs_output import JobsView, jobs_json, print_jobs


def jobs(args: argparse.Namespace, settings: Settings) -> int:
    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        cycles = store.job_cycles(source) if source else []
        hours = store.job_hours(source, cycles[0][0] - settings.forecast_window) if source and cycles else {}
    if source is None or not cycles:
        raise ConfigError(
            "no job census is stored yet: run `metrics-auditor audit` (or the daemon) "
            "with the job census on (AUDITOR_JOBS__ENABLED, true by default)"
        )
    (at, census), *earlier = cycles
    view = JobsView(source, at, census, earlier[0][1] if earlier else None, limit_forecasts(census, hours))
    if args.format == "json":
        write_json(jobs_json(view), sys.stdout)
    else:
        print_jobs(view, sys.stdout)
    return 0

"""Commands of the audit cycle: `run`, `audit`, `history`, `db upgrade`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import ExitStack
from datetime import datetime, timedelta

from auditor.cli.commands.common import open_store, stored_source, write_json
from auditor.config.settings import Settings
from auditor.store import Store

_LONGEST = timedelta(days=200 * 365)
"""``--since 292y`` reads everything: the subtraction must stay inside the calendar."""


def run(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.app.daemon import run as run_daemon
    from auditor.app.wiring import build_auditor, writer_lease
    from auditor.config.settings import load_settings

    if settings.auto_migrate:
        _migrate(settings)
    with build_auditor(settings, writer=writer_lease(settings)) as auditor:
        idle = run_daemon(auditor, lambda: load_settings(args.config))
    if not idle:
        logging.shutdown()
        os._exit(0)  # a worker thread is blocked in a request; its transaction was never opened
    return 0


def _migrate(settings: Settings) -> None:
    from auditor.app.wiring import migrate

    before, after = migrate(settings)
    if before != after:
        logging.getLogger("auditor").info(
            "database upgraded from %s to %s (AUDITOR_AUTO_MIGRATE)", before or "empty", after
        )


def audit(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.app.wiring import build_auditor, writer_lease
    from auditor.core.errors import DatabaseUnavailable, SourceHeldElsewhere
    from auditor.export.console import census_json, print_census

    # The writer lease the daemon takes: an `audit` never writes while a daemon holds the source (it
    # prints the census it took and says so), and hands the lease back once its cycle is stored.
    writer = writer_lease(settings)
    with build_auditor(settings, writer=writer, clock=args.clock) as auditor:
        census = auditor.run_cycle()
        held_by = auditor.storage.held_by if auditor.standby else ""
        unstored = auditor.storage.unstored
        if not held_by and not unstored:
            auditor.store.release(census.source, writer)
    if args.format == "json":
        write_json(census_json(census), sys.stdout)
    else:
        print_census(census, sys.stdout, args.top)
    if unstored:
        # The daemon spools such a cycle and writes it later; a one-shot command ends here, so it is lost.
        raise DatabaseUnavailable(f"the census above is not stored: {unstored}")
    if held_by:
        raise SourceHeldElsewhere(
            f"{held_by}: the census above is not stored. `audit` writes only while no other auditor holds this "
            "source's writer lease: stop that daemon, or wait until its lease lapses"
        )
    return 0


def history(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.export.console import history_json, print_history

    with ExitStack() as stack:
        store = open_store(stack, settings)
        source = stored_source(store, args.source or settings.source)
        since = args.since if isinstance(args.since, datetime) else args.clock.now() - min(args.since, _LONGEST)
        points = store.history(source, args.metric, since) if source else []
        if not points:
            print(_no_history(store, source, args.metric, since), file=sys.stderr)
    if args.format == "json":
        write_json(history_json(args.metric, source or "", points), sys.stdout)
    elif points:
        print_history(args.metric, source or "", points, sys.stdout)
    return 0


def db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.app.wiring import migrate

    before, after = migrate(settings)
    where = settings.database_url_for_logs
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: upgraded from {before or 'empty'} to {after}")
    return 0


def _no_history(store: Store, source: str | None, metric: str, since: datetime) -> str:
    if source is None:
        return "no history stored yet: run `metrics-auditor audit` or the daemon first"
    if not store.metric_known(metric):
        return f"metric {metric!r} was never recorded (check the name with `metrics-auditor audit`)"
    return f"no successful cycle of {source} since {since:%Y-%m-%d %H:%M}Z"

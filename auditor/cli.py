"""``metrics-auditor``: the command line (DESIGN 3.1).

Errors from the project's tree become one line on stderr and the exit code the
error class names (2 input, 3 Prometheus, 4 database); ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from auditor import __version__
from auditor.budgets import Budgets, BudgetsError, default_budgets, load_budgets
from auditor.collect.client import PrometheusClient, build_http_client
from auditor.domain import utc_now
from auditor.durations import parse_duration
from auditor.errors import AuditorError, ConfigError
from auditor.evaluate import evaluate
from auditor.evaluate.rules_diff import RulesDiff
from auditor.export.console import (
    CheckReport,
    census_json,
    check_json,
    history_json,
    print_census,
    print_check,
    print_history,
    print_json,
)
from auditor.export.rules_output import (
    Impacts,
    diff_json,
    drift_json,
    markdown,
    print_text,
    print_versions,
    versions_json,
)
from auditor.settings import Settings, load_settings
from auditor.store import Store, make_engine, require_head, upgrade

log = logging.getLogger("auditor")
Handler = Callable[[argparse.Namespace, Settings], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging("DEBUG" if args.debug else "WARNING")
    try:
        settings = load_settings(args.config)
        if args.command == "run" and not args.debug:
            _configure_logging(settings.log_level)
        handler: Handler = args.handler
        return handler(args, settings)
    except AuditorError as exc:
        log.debug("error details", exc_info=True)
        print(f"metrics-auditor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metrics-auditor", description="Keep Prometheus metric cardinality under control."
    )
    parser.add_argument("--version", action="version", version=f"metrics-auditor {__version__}")
    parser.add_argument("--config", type=_existing_file, help="YAML settings file (environment AUDITOR_* wins)")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="the sidecar daemon: scheduled audits, /metrics, /healthz, /readyz")
    run.set_defaults(handler=cmd_run)

    audit = commands.add_parser("audit", help="run one audit cycle now and print the census")
    audit.add_argument("--format", choices=["table", "json"], default="table")
    audit.add_argument("--top", type=_positive_int, default=30, help="rows of the table (default 30)")
    audit.set_defaults(handler=cmd_audit)

    history = commands.add_parser("history", help="stored series-count history of one metric")
    history.add_argument("metric")
    history.add_argument("--since", type=_since, default="7d", help="duration (7d, 12h) or date (2026-11-01)")
    history.add_argument("--source", help="source name, when the database holds several")
    history.add_argument("--format", choices=["table", "json"], default="table")
    history.set_defaults(handler=cmd_history)

    check = commands.add_parser("check", help="evaluate budgets on the newest stored census; exit 1 on a violation")
    check.add_argument("--format", choices=["table", "json"], default="table")
    check.add_argument("--source", help="source name, when the database holds several")
    check.set_defaults(handler=cmd_check)

    budgets = commands.add_parser("budgets", help="budgets file tools")
    budgets_commands = budgets.add_subparsers(dest="budgets_command", required=True, metavar="COMMAND")
    budgets_check = budgets_commands.add_parser("check", help="validate a budgets file (FILE:LINE errors, exit 2)")
    budgets_check.add_argument("file", nargs="?", type=Path, help="default: AUDITOR_BUDGETS_FILE or rules/budgets.yml")
    budgets_check.set_defaults(handler=cmd_budgets_check)

    rules = commands.add_parser("rules", help="versioned recording rules: diff, drift status, history")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    rules_diff = rules_commands.add_parser(
        "diff", help="semantic diff of two rule-set versions; exit 0 same, 1 different, 2 error"
    )
    rules_diff.add_argument("old", metavar="OLD", help="file, directory, live, @ID or git:REV:PATH")
    rules_diff.add_argument("new", metavar="NEW", help="file, directory, live, @ID or git:REV:PATH")
    rules_diff.add_argument("--prometheus", metavar="URL", help="estimate the series each change adds or frees")
    rules_diff.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    rules_diff.set_defaults(handler=cmd_rules_diff)
    rules_status = rules_commands.add_parser(
        "status", help="desired rules (AUDITOR_RULES_DIR) against the loaded ones; exit 1 on drift"
    )
    rules_status.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    rules_status.set_defaults(handler=cmd_rules_status)
    rules_history = rules_commands.add_parser("history", help="the rule-set versions Prometheus has loaded over time")
    rules_history.add_argument("--format", choices=["table", "json"], default="table")
    rules_history.add_argument("--source", help="source name, when the database holds several")
    rules_history.set_defaults(handler=cmd_rules_history)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade_cmd = db_commands.add_parser("upgrade", help="apply migrations (alembic upgrade head)")
    upgrade_cmd.set_defaults(handler=cmd_db_upgrade)
    return parser


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.daemon import run
    from auditor.service import build_auditor

    with build_auditor(settings) as auditor:
        idle = run(auditor)
    if not idle:
        logging.shutdown()
        os._exit(0)  # a worker thread is blocked in a request; its transaction was never opened
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.service import build_auditor

    with build_auditor(settings) as auditor:
        census = auditor.run_cycle()
    if args.format == "json":
        print_json(census_json(census), sys.stdout)
    else:
        print_census(census, sys.stdout, args.top)
    return 0


def cmd_history(args: argparse.Namespace, settings: Settings) -> int:
    with _engine(settings) as engine:
        require_head(engine)
        return _history(args, settings, Store(engine))


def _history(args: argparse.Namespace, settings: Settings, store: Store) -> int:
    source = _stored_source(store, args.source or settings.source)
    since = args.since if isinstance(args.since, datetime) else utc_now() - args.since
    points = store.history(source, args.metric, since) if source else []
    if not points:
        print(_no_history(store, source, args.metric, since), file=sys.stderr)
    if args.format == "json":
        print_json(history_json(args.metric, source or "", points), sys.stdout)
    elif points:
        print_history(args.metric, source or "", points, sys.stdout)
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.service import evaluation_input

    budgets = _load_budgets(settings)
    with _engine(settings) as engine:
        require_head(engine)
        store = Store(engine)
        source = _stored_source(store, args.source or settings.source)
        latest = store.latest_census(source) if source else None
        if source is None or latest is None:
            raise ConfigError("no census is stored yet: run `metrics-auditor audit` (or the daemon) first")
        snapshot_id, census = latest
        labels = store.drilldown(snapshot_id)
        evaluation = evaluate(evaluation_input(store, census, budgets, labels, settings))
        since = {(f.metric, f.kind, f.label, f.window, f.severity): f.first_seen for f in store.open_findings(source)}
    report = CheckReport(census, evaluation, labels, since)
    if args.format == "json":
        print_json(check_json(report), sys.stdout)
    else:
        print_check(report, sys.stdout)
    return 1 if evaluation.violations else 0


def cmd_budgets_check(args: argparse.Namespace, settings: Settings) -> int:
    path = args.file or settings.effective_budgets_file
    if path is None:
        raise ConfigError("no budgets file: give one (`budgets check FILE`) or set AUDITOR_BUDGETS_FILE")
    try:
        budgets = load_budgets(path)
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


def _load_budgets(settings: Settings) -> Budgets:
    path = settings.effective_budgets_file
    return load_budgets(path) if path is not None else default_budgets()


def cmd_rules_diff(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.collect.impact import ImpactEstimator
    from auditor.evaluate.rules_diff import diff
    from auditor.rulesource import LIVE, comparable, resolve

    with ExitStack() as stack:
        live = _client(stack, settings, settings.prometheus_url) if LIVE in (args.old, args.new) else None
        estimate = _client(stack, settings, args.prometheus.rstrip("/")) if args.prometheus else None
        store = _store(stack, settings) if args.old.startswith("@") or args.new.startswith("@") else None
        old = resolve(args.old, prometheus=live, store=store)
        new = resolve(args.new, prometheus=live, store=store)
        server = live or estimate
        interval = server.evaluation_interval() if server else None
        old, new = comparable(old, new, args.old == LIVE, args.new == LIVE, interval)
        result = diff(old, new)
        impacts = ImpactEstimator(estimate, utc_now()).assess(result) if estimate else None
    _print_rules_diff(result, impacts, args.format)
    return 0 if result.same else 1


def cmd_rules_status(args: argparse.Namespace, settings: Settings) -> int:
    from auditor.evaluate.rules_diff import diff
    from auditor.rulesets import align, from_loaded, load_path

    if settings.rules_dir is None:
        raise ConfigError(
            "AUDITOR_RULES_DIR is not set: point it at the desired recording rules (e.g. rules/recording)"
        )
    desired = load_path(settings.rules_dir)
    with ExitStack() as stack:
        client = _client(stack, settings, settings.prometheus_url)
        live = from_loaded(client.rules(), f"live ({client.base_url})")
        desired, live = align(desired, live, client.evaluation_interval())
    result = diff(live, desired)
    if args.format == "json":
        print_json(drift_json(result), sys.stdout)
    else:
        _print_rules_diff(result, None, args.format)
    return 0 if result.same else 1


def cmd_rules_history(args: argparse.Namespace, settings: Settings) -> int:
    with _engine(settings) as engine:
        require_head(engine)
        store = Store(engine)
        source = _stored_source(store, args.source or settings.source)
        versions = store.rule_versions(source) if source else []
    if args.format == "json":
        print_json(versions_json(versions), sys.stdout)
    else:
        print_versions(versions, sys.stdout)
    return 0


def _print_rules_diff(result: RulesDiff, impacts: Impacts | None, fmt: str) -> None:
    if fmt == "json":
        print_json(diff_json(result, impacts), sys.stdout)
    elif fmt == "markdown":
        sys.stdout.write(markdown(result, impacts))
    else:
        print_text(result, sys.stdout, impacts)


def _client(stack: ExitStack, settings: Settings, url: str) -> PrometheusClient:
    return PrometheusClient(stack.enter_context(build_http_client(url, settings.prometheus)))


def _store(stack: ExitStack, settings: Settings) -> Store:
    engine = stack.enter_context(_engine(settings))
    require_head(engine)
    return Store(engine)


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    with _engine(settings) as engine:
        before, after = upgrade(engine)
    where = settings.database_url_for_logs
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: upgraded from {before or 'empty'} to {after}")
    return 0


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url.get_secret_value())
    try:
        yield engine
    finally:
        engine.dispose()


def _stored_source(store: Store, wanted: str | None) -> str | None:
    sources = store.sources()
    if wanted is not None:
        if wanted not in sources and sources:
            raise ConfigError(f"source {wanted!r} has no history; stored sources: {', '.join(sources)}")
        return wanted
    if len(sources) > 1:
        raise ConfigError(f"the database holds several sources ({', '.join(sources)}): choose one with --source")
    return sources[0] if sources else None


def _no_history(store: Store, source: str | None, metric: str, since: datetime) -> str:
    if source is None:
        return "no history stored yet: run `metrics-auditor audit` or the daemon first"
    if not store.metric_known(metric):
        return f"metric {metric!r} was never recorded (check the name with `metrics-auditor audit`)"
    return f"no successful cycle of {source} since {since:%Y-%m-%d %H:%M}Z"


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        force=True,
    )
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: no such file")
    return path


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _since(text: str) -> timedelta | datetime:
    try:
        return parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a duration (7d, 12h) nor a date (2026-11-01)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=utc_now().tzinfo)

"""``metrics-auditor``: the command line (docs/cli.md).

Errors from the project's tree become one line on stderr and the exit code the error class names (2 input,
3 Prometheus, 4 database, 5 webhook, 75 standby); anything else is a bug: one line and exit 70
(``EX_SOFTWARE``), never 1, which a CI gate reads as "findings". ``--debug`` adds the traceback.
Each command's module (``auditor/cli/commands/``) is imported only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor import __version__
from auditor.app.clock import CommandClock
from auditor.config.settings import Settings, load_settings
from auditor.core.durations import EARLIEST, LATEST, parse_duration
from auditor.core.errors import AuditorError

log = logging.getLogger("auditor")
INTERNAL_ERROR = 70
"""``EX_SOFTWARE`` (sysexits.h): a bug, not an input error (2) nor a finding (1)."""
Handler = Callable[[argparse.Namespace, Settings], int]
_DURATION_LIKE = re.compile(r"(?:\d+(?:ms|[ywdhms]))+")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging("DEBUG" if args.debug else "WARNING")
    args.clock = CommandClock()  # the command's one reading of the time
    try:
        settings = load_settings(args.config)
        if args.command == "run" and not args.debug:
            _configure_logging(settings.log_level)
        return _handler(args.handler)(args, settings)
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
    except Exception as exc:  # the boundary: an unexpected error must not read as findings (exit 1)
        log.debug("unexpected error", exc_info=True)
        hint = "" if args.debug else "; rerun with --debug for the traceback"
        print(f"metrics-auditor: internal error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return INTERNAL_ERROR


def _handler(name: str) -> Handler:
    """``"rules:status"`` -> ``auditor.cli.commands.rules.status``."""
    module, function = name.split(":")
    handler: Handler = getattr(importlib.import_module(f"auditor.cli.commands.{module}"), function)
    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="metrics-auditor", description="Keep Prometheus metric cardinality under control."
    )
    parser.add_argument("--version", action="version", version=f"metrics-auditor {__version__}")
    parser.add_argument("--config", type=_existing_file, help="YAML settings file (environment AUDITOR_* wins)")
    parser.add_argument("--debug", action="store_true", help="debug logging and tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _census_commands(commands)
    _budget_commands(commands)
    _rules_commands(commands)
    _report_command(commands)
    return parser


Commands = Any


def _plan_command(commands: Commands) -> None:
    plan = commands.add_parser("plan", help="before it ships: an exporter's output after relabeling, against budgets")
    plan.add_argument("--exposition", required=True, metavar="FILE|URL", help="a text exposition, or a URL to scrape")
    plan.add_argument(
        "--job", help="the scrape job (its relabeling and targets are read from Prometheus and the store)"
    )
    plan.add_argument("--targets", type=int, metavar="N", help="how many targets expose it (default: the job's)")
    plan.add_argument(
        "--relabel", type=Path, metavar="FILE",
        help="metric_relabel_configs: a list, a scrape job, or a Prometheus configuration (with --job)",
    )  # fmt: skip
    plan.add_argument("--record", action="store_true",
                      help="store the prediction (at merge time): the cycles after the deploy measure it")  # fmt: skip
    _format(plan, "text", "markdown", "json")
    plan.set_defaults(handler="plan:plan_command")


def _histogram_command(commands: Commands) -> None:
    histograms = commands.add_parser(
        "histograms", help="classic histograms: series now and as native histograms, the switch per job, the queries"
    )
    _format(histograms, "table", "json")
    _source(histograms)
    histograms.add_argument(
        "--rules-out", type=Path, metavar="DIR",
        help="write the desired rule files with their histogram queries in the dual-period form into DIR",
    )  # fmt: skip
    histograms.set_defaults(handler="histograms:histograms")


def _census_commands(commands: Commands) -> None:
    run = commands.add_parser("run", help="the sidecar daemon: scheduled audits, /metrics, /healthz, /readyz")
    run.set_defaults(handler="census:run")

    audit = commands.add_parser("audit", help="run one audit cycle now and print the census")
    _format(audit, "table", "json")
    audit.add_argument("--top", type=_positive_int, default=30, help="rows of the table (default 30)")
    audit.set_defaults(handler="census:audit")

    history = commands.add_parser("history", help="stored series-count history of one metric")
    history.add_argument("metric")
    history.add_argument("--since", type=_since, default="7d", help="duration (7d, 12h) or date (2026-11-01)")
    _source(history)
    _format(history, "table", "json")
    history.set_defaults(handler="census:history")

    jobs = commands.add_parser("jobs", help="per scrape job: series, change, churn, limit usage, largest targets")
    _format(jobs, "table", "json")
    _source(jobs)
    jobs.set_defaults(handler="jobs:jobs")

    usage = commands.add_parser("usage", help="which metrics queries, rules and dashboards read; the unused ones")
    usage.add_argument("metric", nargs="?", help="one metric, with its reads per day")
    usage.add_argument("--unused", action="store_true", help="only the unused metrics, and the relabeling to drop them")
    _format(usage, "table", "json")
    _source(usage)
    usage.set_defaults(handler="usage:usage")
    fixes = commands.add_parser("fixes", help="the fix ledger: every remedy printed, its prediction, what was measured")
    _format(fixes, "table", "json")
    _source(fixes)
    fixes.set_defaults(handler="fixes:fixes")
    _histogram_command(commands)
    _plan_command(commands)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade_cmd = db_commands.add_parser("upgrade", help="apply migrations (alembic upgrade head)")
    upgrade_cmd.set_defaults(handler="census:db_upgrade")


def _budget_commands(commands: Commands) -> None:
    check = commands.add_parser("check", help="evaluate budgets on the newest stored census; exit 1 on a violation")
    _format(check, "table", "json")
    _source(check)
    check.set_defaults(handler="budgets:check")

    budgets = commands.add_parser("budgets", help="budgets file tools")
    budgets_commands = budgets.add_subparsers(dest="budgets_command", required=True, metavar="COMMAND")
    budgets_check = budgets_commands.add_parser("check", help="validate a budgets file (FILE:LINE errors, exit 2)")
    budgets_check.add_argument("file", nargs="?", type=Path, help="default: AUDITOR_BUDGETS_FILE or rules/budgets.yml")
    budgets_check.set_defaults(handler="budgets:validate")
    budgets_init = budgets_commands.add_parser(
        "init", help="print a starter budgets file from the newest stored census (the N biggest metrics)"
    )
    budgets_init.add_argument("--top", type=_positive_int, default=10, help="metrics with an entry (default 10)")
    budgets_init.add_argument(
        "--headroom", type=_ratio, default=0.2, help="added to each current figure (default 0.2: +20 %%)"
    )
    budgets_init.add_argument("--owner", help="owner of every entry (default: unowned, to fill in)")
    _source(budgets_init)
    budgets_init.set_defaults(handler="budgets:init")


def _rules_commands(commands: Commands) -> None:
    rules = commands.add_parser("rules", help="versioned recording rules: diff, drift status, history")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    rules_diff = rules_commands.add_parser(
        "diff", help="semantic diff of two rule-set versions; exit 0 same, 1 different, 2 error"
    )
    rules_diff.add_argument("old", metavar="OLD", help="file, directory, live, @ID or git:REV:PATH")
    rules_diff.add_argument("new", metavar="NEW", help="file, directory, live, @ID or git:REV:PATH")
    rules_diff.add_argument("--prometheus", metavar="URL", help="estimate the series each change adds or frees")
    _format(rules_diff, "text", "markdown", "json")
    rules_diff.set_defaults(handler="rules:diff_command")
    rules_status = rules_commands.add_parser(
        "status", help="desired rules (AUDITOR_RULES_DIR) against the loaded ones; exit 1 on drift"
    )
    _format(rules_status, "text", "markdown", "json")
    rules_status.set_defaults(handler="rules:status")
    rules_history = rules_commands.add_parser("history", help="the rule-set versions Prometheus has loaded over time")
    _format(rules_history, "table", "json")
    _source(rules_history)
    rules_history.set_defaults(handler="rules:history")


def _report_command(commands: Commands) -> None:
    report = commands.add_parser("report", help="the weekly audit report (default: the last 7 days)")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--week", help="ISO week, e.g. 2026-W47 (Monday to Monday in AUDITOR_TIMEZONE)")
    when.add_argument("--since", type=_date, help="start (date or date-time, UTC); with --until")
    report.add_argument("--until", type=_date, help="end (date or date-time, UTC); default now")
    _format(report, "markdown", "html", "json", "csv")
    report.add_argument("--output", type=Path, help="file to write (default: standard output)")
    report.add_argument("--owner", help="only this team's metrics")
    which = report.add_mutually_exclusive_group()
    _source(which)
    which.add_argument(
        "--all-sources", action="store_true", help="the fleet report: one row per source, for many Prometheus"
    )
    report.set_defaults(handler="report:report")


def _format(parser: argparse.ArgumentParser, default: str, *others: str) -> None:
    """``--format``, the first choice the default."""
    parser.add_argument("--format", choices=[default, *others], default=default)


def _source(parser: Any) -> None:
    parser.add_argument("--source", help="source name, when the database holds several")


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
        what = "not a regular file (a FIFO, socket, device or directory)" if path.exists() else "no such file"
        raise argparse.ArgumentTypeError(f"{text}: {what}")
    return path


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ratio between 0 and 10 (0.2 means +20 %)")
    return value


def _date(text: str) -> datetime:
    try:
        return _calendar(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (2026-11-16) or date-time (2026-11-16T06:00) "
            f"from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}"
        ) from None


def _calendar(parsed: datetime) -> datetime:
    """A date of the calendar the product reads (UTC unless it says otherwise), or ``ValueError``."""
    at = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    if not EARLIEST <= at < LATEST:
        raise ValueError(f"{at:%Y-%m-%d} is out of range")
    return at


def _since(text: str) -> timedelta | datetime:
    if _DURATION_LIKE.fullmatch(text.strip()):
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    try:
        return _calendar(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a duration (7d, 12h) nor a date (2026-11-01) from {EARLIEST:%Y} to {LATEST:%Y}"
        ) from None

"""``make demo``: a real Prometheus, an exporter whose cardinality grows, and the auditor daemon on SQLite.

python -m auditor.demo [--dir .demo] [--duration SECONDS] [--prometheus BINARY]
python -m auditor.demo --exporter-only 0.0.0.0:9100     # only the growing exporter (docker compose)

The Prometheus is 3.5 LTS from ``scripts/fetch-servers`` (``make demo`` fetches it), or the binary named by
``--prometheus`` or ``DEMO_PROMETHEUS`` (``DEMO_PROMETHEUS=/usr/bin/prometheus`` for Debian 12's 2.42). The
daemon's settings go to ``DIR/env`` as ``export`` lines: ``source .demo/env`` gives a second terminal the
same settings, so every command of the guide sees what the daemon sees. Everything is written below DIR.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port

GROW_EVERY_SECONDS = 15
SERVER = "prometheus-3.5"
"""The folder of ``scripts/fetch-servers`` the demo runs on by default: today's LTS."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.exporter_only:
        return _exporter_only(args.exporter_only, args.duration)
    binary = _prometheus_binary(args.prometheus)
    if isinstance(binary, str):
        print(f"demo: {binary}", file=sys.stderr)
        return 2
    workdir = Path(args.dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    exporter = Exporter()
    _initial_shape(exporter)
    exporter.start()
    query_log = workdir / "prometheus" / "query.log"
    prometheus = LocalPrometheus(
        workdir / "prometheus", [exporter.target], binary=str(binary), scrape_interval="5s",
        global_options={"query_log_file": str(query_log)},
    )  # fmt: skip
    daemon: subprocess.Popen[bytes] | None = None
    env: dict[str, str] | None = None
    started = datetime.now(UTC)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        prometheus.start()
        exporter.wait_for_scrapes(2)
        env = _auditor_env(prometheus.url, workdir, query_log)
        env_file = _write_env(workdir, env)
        subprocess.run([sys.executable, "-m", "auditor", "db", "upgrade"], env=env, check=True, cwd=workdir)
        daemon = subprocess.Popen([sys.executable, "-m", "auditor", "run"], env=env, cwd=workdir)
        _wait_ready(env["AUDITOR_LISTEN_ADDRESS"])  # the guide's commands find a stored cycle from the start
        _print_guide(prometheus.url, _version(prometheus.url), env, env_file)
        _grow_forever(exporter, args.duration, prometheus.url)
    except KeyboardInterrupt:
        print("\ndemo: stopping", file=sys.stderr)
    finally:
        _stop(daemon)
        prometheus.stop()
        exporter.stop()
        if env is not None:
            _write_report(env, workdir, started)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m auditor.demo", description=__doc__)
    parser.add_argument("--dir", default=".demo", help="working directory (SQLite file, Prometheus data)")
    parser.add_argument("--duration", type=float, default=0, help="stop after this many seconds (0: until Ctrl-C)")
    parser.add_argument("--exporter-only", metavar="HOST:PORT", help="serve only the growing demo exporter there")
    parser.add_argument(
        "--prometheus", metavar="BINARY", default=os.environ.get("DEMO_PROMETHEUS") or None,
        help=f"the prometheus binary (default: DEMO_PROMETHEUS, else {SERVER} from scripts/fetch-servers)",
    )  # fmt: skip
    return parser


def _prometheus_binary(asked: str | None) -> Path | str:
    """The binary to run, or why there is none (a sentence for the user)."""
    if asked:
        path = Path(asked)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        return f"DEMO_PROMETHEUS={asked}: no executable prometheus there"
    servers = Path(os.environ.get("AUDITOR_SERVERS_DIR") or Path.cwd() / ".cache" / "servers")
    path = servers / SERVER / "usr" / "bin" / "prometheus"
    if path.is_file():
        return path
    return (
        f"Prometheus 3.5 is not in {servers / SERVER}: run `scripts/fetch-servers {SERVER}` (make demo does), or "
        "point DEMO_PROMETHEUS at a prometheus binary (DEMO_PROMETHEUS=/usr/bin/prometheus for Debian's 2.42)"
    )


def _wait_ready(listen: str, timeout: float = 60.0) -> None:
    """Until the daemon's ``/readyz`` answers 200: its first cycle is stored (or the time is up: go on anyway)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{listen}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)


def _version(prometheus_url: str) -> str:
    try:
        with urllib.request.urlopen(f"{prometheus_url}/api/v1/status/buildinfo", timeout=5) as answer:
            return str(json.load(answer)["data"]["version"])
    except (OSError, ValueError, KeyError):
        return "unknown"


def _exporter_only(address: str, duration: float) -> int:
    host, _, port = address.rpartition(":")
    exporter = Exporter()
    _initial_shape(exporter)
    exporter.start(host or "0.0.0.0", int(port))
    print(f"demo exporter: http://{exporter.target}/metrics, growing every {GROW_EVERY_SECONDS}s", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _grow_forever(exporter, duration)
    except KeyboardInterrupt:
        pass
    finally:
        exporter.stop()
    return 0


HANDLER = {"handler": "path"}
"""``handler`` names the code serving each path: one per path, so it makes no series unique (a safe fix)."""


def _initial_shape(exporter: Exporter) -> None:
    exporter.set(
        "user_sessions", 40, label="user_id", help="Open sessions per user (grows: user_id should not be a label)"
    )
    exporter.set("http_requests_total", 12, label="path", help="Requests per path (grows slowly with new paths)",
                 derived=HANDLER)  # fmt: skip
    exporter.set("node_cpu_seconds_total", 8, label="cpu", help="CPU time per core (stable)")
    exporter.set("process_open_fds", 1, label="pid", help="Open file descriptors (stable)")


def _grow(exporter: Exporter, step: int) -> None:
    shape = exporter.shape()
    exporter.set("user_sessions", shape["user_sessions"] + 25, label="user_id", help="Open sessions per user")
    if step % 2 == 0:
        exporter.set("http_requests_total", shape["http_requests_total"] + 3, label="path", help="Requests per path",
                     derived=HANDLER)  # fmt: skip
    if step == 4:
        exporter.set("checkout_cart_items", 30, label="cart_id", help="A new metric that appears during the demo")


def _grow_forever(exporter: Exporter, duration: float, prometheus_url: str | None = None) -> None:
    deadline = time.monotonic() + duration if duration > 0 else math.inf
    step = 0
    if prometheus_url is not None:
        _dashboard_query(prometheus_url)  # at once too: the first cycles already see a read
    while (remaining := deadline - time.monotonic()) > 0:
        time.sleep(min(GROW_EVERY_SECONDS, remaining))
        if time.monotonic() >= deadline:
            return
        step += 1
        _grow(exporter, step)
        if prometheus_url is not None:  # the compose stack's exporter has no Prometheus of its own to ask
            _dashboard_query(prometheus_url)
        shape = exporter.shape()
        print(f"demo: exporter now exposes {sum(shape.values())} series: {shape}", flush=True)


def _dashboard_query(prometheus_url: str) -> None:
    """What a dashboard would send: the query log credits ``user_sessions``; the other metrics stay unread."""
    body = urllib.parse.urlencode({"query": "sum(user_sessions)"}).encode()
    try:
        urllib.request.urlopen(f"{prometheus_url}/api/v1/query", data=body, timeout=5).close()
    except OSError as exc:
        print(f"demo: the dashboard query failed: {exc}", file=sys.stderr)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


DEMO_BUDGETS = """\
# The demo's budgets: user_sessions outgrows its budget a few minutes into the demo, and the metric
# that appears after a minute carries a label the policy denies.
defaults:
  owner: platform
  max_series: 1000
  max_growth: {1h: 0.5}
  growth_min_series: 20
  labels_denied: [cart_id, session_id, email]
metrics:
  - name: user_sessions
    owner: team-identity
    max_series: 150
    labels: {user_id: {max_values: 100}}
  - match: "http_.*"
    owner: team-web
    max_series: 40
    labels_denied: [handler, cart_id, session_id, email]
"""


def _auditor_env(prometheus_url: str, workdir: Path, query_log: Path) -> dict[str, str]:
    listen_port = _listen_port()
    budgets = workdir / "budgets.yml"
    budgets.write_text(DEMO_BUDGETS, encoding="utf-8")
    return os.environ | {
        "AUDITOR_BUDGETS_FILE": str(budgets),
        "AUDITOR_PROMETHEUS_URL": prometheus_url,
        "AUDITOR_DATABASE_URL": f"sqlite:///{workdir / 'metrics-auditor.db'}",
        "AUDITOR_AUDIT_INTERVAL": "10s",
        "AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{listen_port}",
        "AUDITOR_SOURCE": "demo",
        # The weekly report the daemon writes at start stays in the demo's folder, not the current directory.
        "AUDITOR_REPORT_DIR": str(workdir / "reports"),
        # Prometheus' query log: which metrics are read. Two minutes without a read is "unused" here (30 days
        # by default), so the demo names unused metrics before it ends.
        "AUDITOR_QUERY_LOG_FILE": str(query_log),
        "AUDITOR_USAGE__UNUSED_AFTER": "2m",
    }


def _listen_port(preferred: int = 9920) -> int:
    """The auditor's usual port when it is free, else any free one."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            return free_port()
    return preferred


def _write_env(workdir: Path, env: dict[str, str]) -> Path:
    """Every setting the daemon runs with, as ``export`` lines a second terminal sources."""
    path = workdir / "env"
    lines = [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items()) if key.startswith("AUDITOR_")]
    header = "# The demo daemon's settings: `source` this file, then the guide's commands see what the daemon sees.\n"
    path.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _shown(path: Path) -> str:
    """``path`` as the user types it from here: relative below the current directory, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


GUIDE = [
    ("source {env}", ["the daemon's settings, every one of them"]),
    ("{cli} audit", ["the census now; the daemon stores history, so this one", "is printed only (exit 75 says so)"]),
    ("{cli} history user_sessions", ["how user_sessions grew, cycle by cycle"]),
    ("{cli} history user_sessions --format json", []),
    ("{cli} check", ["budgets: user_sessions goes over 150 after ~1.5 minutes;",
                     "checkout_cart_items (from ~1 minute) carries cart_id,", "which the label policy denies",
                     "fixes: user_id makes series unique, so no relabeling is",
                     "printed for it (fix_at_source); after 2 minutes of query",
                     "log, handler (one per path, read by nobody) gets a safe",
                     "drop_label that keeps every series"]),
    ("{cli} budgets init", ["a starter budgets file from the newest census"]),
    ("{cli} usage --unused", ["from Prometheus' query log: after 2 minutes, every metric",
                              "but user_sessions (a \"dashboard\" queries it) is unused"]),
]  # fmt: skip
"""The second terminal's commands and what each shows (``tests/test_demo.py`` runs each and checks it)."""


def _commands(cli: str, env: str) -> str:
    lines = [command.format(cli=cli, env=env) for command, _ in GUIDE]
    width = max(len(line) for line in lines) + 2
    out = []
    for line, (_, notes) in zip(lines, GUIDE, strict=True):
        out.append(f"  {line:<{width}}# {notes[0]}" if notes else f"  {line}")
        out += [f"  {'':<{width}}# {note}" for note in notes[1:]]
    return "\n".join(out)


def _print_guide(prometheus_url: str, version: str, env: dict[str, str], env_file: Path) -> None:
    listen = env["AUDITOR_LISTEN_ADDRESS"]
    cli = _shown(Path(sys.executable).parent / "metrics-auditor")
    print(
        f"""
metrics-auditor demo is running (Ctrl-C stops everything it started).

  Prometheus {version:<10} {prometheus_url}   (scrapes a demo exporter every 5s)
  auditor /metrics    http://{listen}/metrics   (self-metrics: last success, head series, cycles)
  auditor /readyz     http://{listen}/readyz

The exporter grows `user_sessions` by 25 series every {GROW_EVERY_SECONDS}s; the auditor runs a cycle every 10s.
In another terminal, from this directory:

{_commands(cli, _shown(env_file))}

The budgets are in {env["AUDITOR_BUDGETS_FILE"]}: edit the file and the daemon picks it up at its next cycle;
`curl -s http://{listen}/metrics | grep budget_exceeded` shows what Alertmanager would be told.
""",
        flush=True,
    )


def _write_report(env: dict[str, str], workdir: Path, started: datetime) -> None:
    """The demo ends as a week ends: with the audit report of what happened."""
    report = workdir / "report.html"
    since = started.strftime("%Y-%m-%dT%H:%M:%S")
    command = [sys.executable, "-m", "auditor", "report", "--since", since, "--format", "html", "--output", str(report)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=workdir)
    if result.returncode == 0:
        print(f"\ndemo: the audit report of this demo is at {report}", flush=True)
        cli = _shown(Path(sys.executable).parent / "metrics-auditor")
        print(f"demo: (markdown: {cli} report --since {since}, after `source` of the env file above)", flush=True)
    else:
        print(f"demo: the report could not be written: {result.stderr.strip()}", file=sys.stderr)


def _stop(daemon: subprocess.Popen[bytes] | None) -> None:
    if daemon is None or daemon.poll() is not None:
        return
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=15)
    except subprocess.TimeoutExpired:
        daemon.kill()


if __name__ == "__main__":
    sys.exit(main())

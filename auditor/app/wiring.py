"""The composition root: every real part (HTTP client, engine, store, lease, clock, budgets) is built here,
for the CLI and the daemon alike. Nothing else constructs an I/O object or reads the wall clock.

    with ExitStack() as stack:
        client = prometheus_client(stack, settings)        # retries, response cap, auth, TLS: every setting
        store = open_store(stack, settings)                 # at the latest schema, or the "db upgrade" error
    auditor = build_auditor(settings, writer=writer_lease(settings))   # a cycle, as the daemon runs it

Tests pass their own ``http`` (a transport), ``engine`` and ``clock`` into ``build_auditor``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from auditor.app.clock import SYSTEM
from auditor.app.cycle import Auditor, Carried
from auditor.app.cycle_store import CycleStorage
from auditor.app.http import HttpServer
from auditor.app.spool import Spool
from auditor.app.stats import CycleStats
from auditor.collect.breaker import Breaker
from auditor.collect.census import AskedLimits
from auditor.collect.client import PrometheusClient, RetryPolicy
from auditor.collect.connection import build_http_client
from auditor.collect.deadline import CallDeadline
from auditor.config.budgets import BudgetsProvider, load_budgets
from auditor.config.reloadable import Reloadable
from auditor.config.rulefiles import load_path
from auditor.config.settings import Settings
from auditor.core.budgets import Budgets, default_budgets
from auditor.core.cycle import Writer
from auditor.core.domain import Clock
from auditor.core.rulesets import RuleSet
from auditor.store import Store, make_engine, require_head, upgrade

log = logging.getLogger(__name__)


def prometheus_client(
    stack: ExitStack,
    settings: Settings,
    url: str | None = None,
    *,
    transport: httpx.BaseTransport | None = None,
    command: bool = False,
    clock: Clock = SYSTEM,
) -> PrometheusClient:
    """A client with every Prometheus setting: auth, TLS, timeout, retries, the response-size cap.

    Its requests keep one deadline, down to each socket read: the cycle's (set per cycle), or with
    ``command`` the command's own, ``AUDITOR_AUDIT_TIMEOUT`` from now.
    """
    prom = settings.prometheus
    at = clock.monotonic() + settings.audit_timeout.total_seconds() if command else None
    deadline = CallDeadline(clock.monotonic, at)
    base = url or settings.prometheus_url
    http = stack.enter_context(build_http_client(base, prom, transport=transport, deadline=deadline))
    return PrometheusClient(http, clock, RetryPolicy(attempts=prom.attempts), prom.max_response_bytes, deadline)


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    engine = database_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def open_store(stack: ExitStack, settings: Settings) -> Store:
    """The store of a database at the latest schema (else the one-line "run db upgrade" error)."""
    engine = stack.enter_context(database(settings))
    require_head(engine)
    return Store(engine)


def migrate(settings: Settings) -> tuple[str | None, str | None]:
    """``alembic upgrade head``; returns the revisions before and after."""
    with database(settings) as engine:
        return upgrade(engine)


def writer_lease(settings: Settings) -> Writer:
    """This process' claim on the source it writes: the daemon and ``audit`` alike (two writers take turns)."""
    return Writer(f"{socket.gethostname()}:{os.getpid()}", settings.stale_after)


PROCESS_LIMITS = AskedLimits()
"""The TSDB-status limits this process asked each server with. Prometheus caches one answer per server and
limit, whichever auditor asked: every auditor the process builds (a reload's, a test's) shares this memory, so
a new one does not read the answer an earlier one left in the cache."""


def build_auditor(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    engine: Engine | None = None,
    clock: Clock = SYSTEM,
    check_schema: bool = True,
    budgets: BudgetsProvider | None = None,
    writer: Writer | None = None,
    carried: Carried | None = None,
    asked: AskedLimits = PROCESS_LIMITS,
) -> Auditor:
    """Wire the real parts of one audit cycle; tests pass their own ``transport``, ``engine`` and ``clock``: the
    client is the production one (auth, TLS, User-Agent, timeouts, redirects, the deadline) on their transport."""
    resources = ExitStack()
    with resources.pop_all() as cleanup:
        client = prometheus_client(cleanup, settings, transport=transport, clock=clock)
        if engine is None:
            engine = database_engine(settings)
            cleanup.callback(engine.dispose)
        if budgets is None:
            budgets = BudgetsProvider(settings.effective_budgets_file, clock)
            budgets.load()
        desired = _desired_rules(settings, clock)
        if check_schema:
            require_head(engine)
        owned = cleanup.pop_all()
    store = Store(engine)
    if carried is not None:  # a reload: the old auditor's counters, breaker, spool and memories go on
        storage = CycleStorage(store, carried.spool, writer, standby=carried.standby)
        parts = (settings, client, store, clock, carried.stats, budgets, desired, storage, carried.breaker)
        return Auditor(*parts, endpoints=carried.endpoints, asked=carried.asked, resources=owned, carried=carried)
    prom = settings.prometheus
    pause = prom.breaker_max_pause.total_seconds()
    breaker = Breaker(prom.breaker_threshold, settings.audit_interval.total_seconds(), pause, monotonic=clock.monotonic)
    storage = CycleStorage(store, Spool(settings.spool_max_cycles), writer)
    return Auditor(
        settings, client, store, clock, CycleStats(), budgets, desired, storage, breaker, asked=asked, resources=owned
    )


def _desired_rules(settings: Settings, clock: Clock) -> Reloadable[RuleSet] | None:
    if settings.rules_dir is None:
        return None
    desired = Reloadable(settings.rules_dir, load_path, RuleSet(()), "desired rules", clock=clock)
    desired.load()
    return desired


def database_engine(settings: Settings) -> Engine:
    """The engine of ``AUDITOR_DATABASE_URL``, its sessions bounded by ``AUDITOR_DATABASE__*``."""
    bounds = settings.database
    return make_engine(
        settings.database_url.get_secret_value(),
        statement_timeout=bounds.statement_timeout,
        lock_timeout=bounds.lock_timeout,
    )


def budgets_in_force(settings: Settings, clock: Clock) -> Budgets:
    """The budgets file as a command reads it once, its exceptions dated by the command's clock."""
    path = settings.effective_budgets_file
    return load_budgets(path, clock.now().date()) if path is not None else default_budgets()


def exposition_client(settings: Settings) -> httpx.Client:
    """The client of ``plan --exposition URL``: one scrape, bounded like a request to Prometheus."""
    return httpx.Client(timeout=settings.prometheus.timeout.total_seconds(), follow_redirects=True)


def webhook_client() -> httpx.Client:
    """The client that POSTs the weekly report (AUDITOR_REPORT_WEBHOOK_URL); ``post_report`` retries with it."""
    return httpx.Client(timeout=30)


WsgiApp = Callable[..., Iterable[bytes]]


@dataclass
class DaemonParts:
    """The daemon's own I/O, built here: its scheduler, the report's webhook client, its HTTP server."""

    scheduler: BackgroundScheduler
    webhook: httpx.Client
    serve: Callable[[WsgiApp], HttpServer]
    """Binds ``AUDITOR_LISTEN_ADDRESS`` (a restart-only setting) and serves the app given."""


def daemon_parts(settings: Settings, clock: Clock) -> DaemonParts:
    host, port = settings.listen_host_port

    def serve(app: WsgiApp) -> HttpServer:
        return HttpServer(host, port, app, monotonic=clock.monotonic)

    return DaemonParts(BackgroundScheduler(timezone=UTC), webhook_client(), serve)

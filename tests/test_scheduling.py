"""The daemon's scheduler never runs two cycles at once, even when a cycle outlasts the interval."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import respx
from sqlalchemy import Engine

from auditor.app.daemon import Daemon
from auditor.app.wiring import build_auditor, daemon_parts
from auditor.config.settings import DrilldownSettings, JobsSettings, Settings
from auditor.demo.prometheus import free_port
from auditor.store import Store
from tests.support import fake
from tests.support.servers import wait_until


def test_slow_cycles_never_overlap(router: respx.MockRouter, transport: httpx.MockTransport, engine: Engine) -> None:
    """The first cycle is held inside its first request (well past several intervals) until the test lets it
    go: no second cycle may start meanwhile, and cycles go on one after the other once it is released."""
    running, peak, calls, lock = 0, 0, 0, threading.Lock()
    held, release = threading.Event(), threading.Event()

    def slow_buildinfo(_: httpx.Request) -> httpx.Response:
        nonlocal running, peak, calls
        with lock:
            running, calls = running + 1, calls + 1
            peak = max(peak, running)
            first = calls == 1
        if first:
            held.set()
            release.wait(30)
        with lock:
            running -= 1
        return httpx.Response(200, json=fake.buildinfo("2.53.0"))

    router.get("/api/v1/status/buildinfo").mock(side_effect=slow_buildinfo)
    router.get("/api/v1/status/tsdb").respond(json=fake.tsdb({"a": 1}))
    router.get("/api/v1/rules").respond(json=fake.rules())
    router.get("/api/v1/status/config").respond(json=fake.config())  # the interval stored with the rule version
    settings = Settings(  # type: ignore[call-arg]
        prometheus_url=fake.BASE,
        source="slow",
        drilldown=DrilldownSettings(top_n=0),
        jobs=JobsSettings(enabled=False),  # only the census is prepared
        audit_interval=timedelta(seconds=1),
        listen_address=f"127.0.0.1:{free_port()}",
    )
    auditor = build_auditor(settings, transport=transport, engine=engine)
    daemon = Daemon(auditor, daemon_parts(settings, auditor.clock))
    daemon.start()
    assert held.wait(10), "the first cycle reached its first request"
    # Three intervals pass while the first cycle is held: the scheduler fires and must skip each time.
    ticks = wait_until(lambda: _intervals_passed(daemon), lambda n: n >= 3, timeout=30, what="three intervals")
    with lock:
        assert (calls, running) == (1, 1), f"no second cycle while the first runs ({ticks} intervals passed)"
    release.set()
    wait_until(lambda: len(Store(engine).snapshots("slow")), lambda n: n >= 3, timeout=30, what="three cycles")
    assert daemon.stop(grace_seconds=5)
    assert peak == 1


def _intervals_passed(daemon: Daemon) -> int:
    """Runs the scheduler skipped because the cycle before still ran (``cycles_skipped_total``, ``still_running``)."""
    return daemon.auditor.stats.view().skipped.get("still_running", 0)

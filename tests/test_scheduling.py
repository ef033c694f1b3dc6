"""The daemon's scheduler never runs two cycles at once, even when a cycle outlasts the interval."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import httpx
import respx
from sqlalchemy import Engine

from auditor.app.daemon import Daemon
from auditor.app.wiring import build_auditor
from auditor.config.settings import DrilldownSettings, JobsSettings, Settings
from auditor.demo.prometheus import free_port
from auditor.store import Store
from tests.support import fake
from tests.support.servers import wait_until


def test_slow_cycles_never_overlap(router: respx.MockRouter, http: httpx.Client, engine: Engine) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def slow_buildinfo(_: httpx.Request) -> httpx.Response:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(1.5)
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
    auditor = build_auditor(settings, http=http, engine=engine)
    daemon = Daemon(auditor)
    started = time.monotonic()
    daemon.start()
    wait_until(lambda: len(Store(engine).snapshots("slow")), lambda n: n >= 3, timeout=30, what="three cycles")
    elapsed = time.monotonic() - started
    assert daemon.stop(grace_seconds=5)
    assert peak == 1
    assert elapsed >= 3 * 1.5, "three 1.5 s cycles one after the other, never two at once every 1 s"

"""Two auditors for one source on one database (a rolling deploy, an HA pair), as two real processes.

One writes under the source's writer lease, the other is the standby: no duplicate or interleaved
snapshots. When the writer dies, the standby takes over once the lease lapses.
"""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from auditor.demo.exporter import Exporter
from auditor.demo.prometheus import LocalPrometheus, free_port
from auditor.store import Store
from tests.support.builders import ground_truth
from tests.support.metrics import samples
from tests.test_daemon import daemon, get, wait_for

pytestmark = pytest.mark.prometheus


def standby(port: int) -> float | None:
    response = get(f"http://127.0.0.1:{port}/metrics")
    if response is None:
        return None
    return samples(response.text).get("metrics_auditor_standby")


def test_two_auditors_for_one_source_take_turns(
    prometheus: LocalPrometheus, exporter: Exporter, database_url: str, engine: Engine, tmp_path: Path
) -> None:
    exporter.wait_for_scrapes(2)
    ports = free_port(), free_port()
    common = {
        "AUDITOR_PROMETHEUS_URL": prometheus.url,
        "AUDITOR_DATABASE_URL": database_url,
        "AUDITOR_AUDIT_INTERVAL": "1s",
        "AUDITOR_AUDIT_TIMEOUT": "2s",  # the writer lease lasts 2 x interval + timeout: 4s
        "AUDITOR_SOURCE": "ha-pair",
    }
    store = Store(engine)
    with (
        daemon(common | {"AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{ports[0]}"}, tmp_path / "a.log") as a,
        daemon(common | {"AUDITOR_LISTEN_ADDRESS": f"127.0.0.1:{ports[1]}"}, tmp_path / "b.log") as b,
    ):
        wait_for(lambda: {standby(ports[0]), standby(ports[1])} == {0.0, 1.0})
        window_start = time.monotonic()
        before = len(store.snapshots("ha-pair", limit=1000))
        wait_for(lambda: len(store.snapshots("ha-pair", limit=1000)) >= before + 6, timeout=30)
        together = len(store.snapshots("ha-pair", limit=1000)) - before
        window = time.monotonic() - window_start
        writer, spare, spare_port = (a, b, ports[1]) if standby(ports[0]) == 0 else (b, a, ports[0])
        writer.send_signal(signal.SIGKILL)  # a crash: the lease is not handed over, it lapses
        writer.wait(timeout=10)
        killed_at = len(store.snapshots("ha-pair", limit=1000))
        wait_for(lambda: len(store.snapshots("ha-pair", limit=1000)) >= killed_at + 3, timeout=30)
        taken_over = standby(spare_port)
        spare.send_signal(signal.SIGTERM)
        assert spare.wait(timeout=10) == 0

    snapshots = list(reversed(store.snapshots("ha-pair", limit=1000)))
    gaps = [(b.collected_at - a.collected_at).total_seconds() for a, b in itertools.pairwise(snapshots)]
    # One auditor's rate (1 per second), not two: a cycle can land at each end of the window, and one may run
    # late and the next on time, so a single writer stores up to window + 2 (seen: 6 in 4.99 s); two would
    # store about 2 x window (>= 10 here, the window lasting at least the 5 s six cycles need).
    assert together <= window + 2
    assert min(gaps) > 0.5, gaps  # no duplicate: two auditors never stored the same moment twice
    assert {s.status for s in snapshots} == {"ok"}
    for snapshot in snapshots:
        assert store.metric_counts(snapshot.id) == ground_truth(exporter)
    assert taken_over == 0

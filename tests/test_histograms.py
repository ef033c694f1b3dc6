"""Classic histogram families, the series a conversion to native histograms leaves, buckets that never fill, and
the inventory in the store (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from auditor.core.histograms import Family, Inventory, JobFamily, NativeSupport, classic_families, empty_buckets
from auditor.store.models import HistogramFamilyRow, HistogramRollup

INF = float("inf")


def test_families_by_metadata_else_by_shape() -> None:
    names = [
        "req_seconds_bucket", "req_seconds_sum", "req_seconds_count",      # a histogram by its shape
        "rpc_latency_bucket",                                             # metadata says histogram
        "gc_pause_seconds_sum", "gc_pause_seconds_count",                 # a summary: no _bucket
        "queue_bucket", "queue_sum", "queue_count",                       # metadata says counter
        "up",
    ]  # fmt: skip
    types = {"rpc_latency": "histogram", "queue": "counter"}
    assert classic_families(names, types) == ["req_seconds", "rpc_latency"]
    assert classic_families(names) == ["queue", "req_seconds"], "without metadata the shape decides"


def test_a_family_of_r_label_sets_and_b_buckets_goes_from_r_times_b_plus_2_series_to_r() -> None:
    family = Family("req_seconds", label_sets=3, buckets=5)
    assert (family.series_now, family.series_after) == (21, 3), "the 3.5.3 measurement: 21 series, then 3"


def test_buckets_that_never_fill_are_named_and_inf_never_is() -> None:
    counts = [
        (0.005, [0, 0, 0]),      # lowest, always 0: never fills
        (0.01, [0, 1, 2]),
        (0.05, [0, 1, 2]),       # equal to the bucket below at every sample: never fills
        (0.1, [1, 3, 9]),
        (INF, [1, 3, 9]),        # +Inf equals 0.1, but Prometheus needs it
    ]  # fmt: skip
    assert empty_buckets(counts) == [0.005, 0.05]
    assert empty_buckets([(0.1, [1, 2]), (INF, [3, 4])]) == []
    assert empty_buckets([]) == []


def test_the_switch_is_for_prometheus_3_with_native_histograms_enabled() -> None:
    """The flag answers as measured on the real servers (3.5, 2.53 with and without the feature, 2.42)."""
    from auditor.core.domain import ServerKind
    from auditor.core.histograms import native_support

    on = native_support(ServerKind.PROMETHEUS, "3.5.0", {"enable-feature": "native-histograms"})
    assert (on.native_histograms, on.switch) == (True, True)
    off = native_support(ServerKind.PROMETHEUS, "3.5.0", {"enable-feature": ""})
    assert (off.native_histograms, off.switch) == (False, True)
    assert "store nothing" in off.reason
    both = native_support(ServerKind.PROMETHEUS, "3.5.0", {"enable-feature": "exemplar-storage, native-histograms"})
    assert both.native_histograms is True
    old = native_support(ServerKind.PROMETHEUS, "2.53.0", {"enable-feature": "native-histograms"})
    assert (old.native_histograms, old.switch) == (None, False)
    assert "needs Prometheus 3" in old.reason
    assert native_support(ServerKind.PROMETHEUS, "2.42.0+ds", {"enable-feature": ""}).switch is False
    vm = native_support(ServerKind.VICTORIAMETRICS, "1.145.0", None)
    assert (vm.native_histograms, vm.switch) == (None, False)
    assert native_support(ServerKind.PROMETHEUS, "3.5.0", None).native_histograms is None
    stable = native_support(ServerKind.PROMETHEUS, "3.9.1", {"enable-feature": ""})
    assert (stable.native_histograms, stable.switch) == (None, True), "3.8+: the flag says nothing any more"
    assert "not measured on this version" in stable.reason
    assert native_support(ServerKind.PROMETHEUS, "3.7.0+ds1", {"enable-feature": ""}).native_histograms is False


@pytest.mark.prometheus
@pytest.mark.parametrize(("version", "extra", "native"), [
    ("3.5", ["--enable-feature=native-histograms"], True),
    ("3.5", [], False),
    ("2.42", [], None),
])  # fmt: skip
def test_the_flags_of_a_real_server_say_whether_the_switch_stores_anything(
    version: str, extra: list[str], native: bool | None, tmp_path: Path
) -> None:
    from auditor.collect import PrometheusClient
    from auditor.core.domain import ServerKind
    from auditor.core.histograms import native_support
    from auditor.demo.exporter import Exporter
    from tests.support.builders import CLOCK
    from tests.support.servers import require

    exporter = Exporter()
    exporter.set("req_seconds_count", 1)
    exporter.start()
    prometheus = require(version).local(tmp_path, [exporter.target], extra_args=extra)
    try:
        prometheus.start()
        with httpx.Client(base_url=prometheus.url, timeout=10) as http:
            client = PrometheusClient(http, CLOCK)
            support = native_support(ServerKind.PROMETHEUS, client.buildinfo().version, client.flags())
        assert support.native_histograms is native
        assert support.switch is (version == "3.5")
    finally:
        prometheus.stop()
        exporter.stop()


def inventory(*families: JobFamily, native: bool | None = True) -> Inventory:
    return Inventory("3.5.3", NativeSupport(native, True, "native histograms are enabled"), families, skipped=1)


def test_the_inventory_is_stored_with_its_cycle_rolled_up_and_read_back_past_the_raw_retention(engine: Engine) -> None:
    from auditor.store import Store
    from auditor.store.compaction import Retention, compact
    from tests.support.builders import CLOCK, census, save_census

    store = Store(engine)
    h0 = datetime(2026, 11, 20, tzinfo=UTC)
    req = JobFamily("req_seconds", "api", 3, 5, 15, ("0.5",), 3)
    grown = JobFamily("req_seconds", "api", 4, 5, 20, (), 0)
    save_census(store, census({"req_seconds_bucket": 15}, h0), "u", 0.1, histograms=inventory(req))
    save_census(store, census({"req_seconds_bucket": 15}, h0 + timedelta(minutes=5)), "u", 0.1)
    last = save_census(store, census({"req_seconds_bucket": 20}, h0 + timedelta(minutes=20)), "u", 0.1,
                       histograms=inventory(grown, JobFamily("db_seconds", "db", 2, 3, 6)))  # fmt: skip
    newest = store.histograms.newest("prod")
    assert newest is not None
    at, found = newest
    assert at == h0 + timedelta(minutes=20)
    assert {(f.metric, f.job): f for f in found.families} == {
        ("req_seconds", "api"): grown, ("db_seconds", "db"): JobFamily("db_seconds", "db", 2, 3, 6)
    }  # fmt: skip
    assert (found.support.native_histograms, found.skipped) == (True, 1)
    assert found.version == census({}, h0).prometheus_version, "the cycle's server version"

    compact(store, h0 + timedelta(days=1, hours=2), Retention(timedelta(hours=1), timedelta(days=30),
            timedelta(days=400)), monotonic=CLOCK.monotonic)  # fmt: skip
    with engine.connect() as conn:
        raw = conn.execute(select(func.count()).where(HistogramFamilyRow.snapshot_id == last)).scalar_one()
        rolled = {(r.tier, r.metric): (r.max_label_sets, r.label_sets, r.empty_series)
                  for r in conn.execute(select(HistogramRollup))}  # fmt: skip
    assert raw == 0, "the raw rows went with the cycle's other rows"
    assert rolled == {("hour", "req_seconds"): (4, 4, 0), ("hour", "db_seconds"): (2, 2, 0),
                      ("day", "req_seconds"): (4, 4, 0), ("day", "db_seconds"): (2, 2, 0)}  # fmt: skip
    again = store.histograms.newest("prod")
    assert again is not None
    assert {(f.metric, f.job): f for f in again[1].families}[("req_seconds", "api")] == grown, "from the rollup"
    assert store.histograms.newest("elsewhere") is None

"""Classic histogram families, the series a conversion to native histograms leaves, and buckets that never fill."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from auditor.core.histograms import Family, classic_families, empty_buckets

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

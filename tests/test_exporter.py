"""The demo/test exporter exposes exactly the series it is told to."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from auditor.demo.exporter import Exporter


def test_exporter_serves_its_shape_exactly() -> None:
    exporter = Exporter()
    exporter.set("user_sessions", 120, label="user_id")
    exporter.set("up_like", 1)
    exporter.start()
    try:
        body = httpx.get(f"http://{exporter.target}/metrics").text
        assert exporter.scrapes == 1
    finally:
        exporter.stop()
    counts = {f.name: len(f.samples) for f in text_string_to_metric_families(body)}
    assert counts == {"user_sessions": 120, "up_like": 1}
    assert exporter.shape() == counts
    exporter.remove("up_like")
    assert exporter.shape() == {"user_sessions": 120}

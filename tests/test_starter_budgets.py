"""``budgets init`` on hand-built censuses: any name, any headroom, a file that loads and finds nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from auditor.config.budgets import load_budgets
from auditor.core.domain import LabelStats
from auditor.evaluate import EvaluationInput, evaluate
from auditor.export.starter_budgets import StarterInput, StarterOptions, readable, render, warn_ratio
from tests.test_evaluate import census


@pytest.mark.parametrize(
    ("value", "expected"), [(0.2, 1), (7.2, 8), (10, 10), (10.5, 11), (57.6, 58), (1480.8, 1500), (123456, 130000)]
)
def test_readable_rounds_up_to_two_significant_digits(value: float, expected: int) -> None:
    assert readable(value) == expected


@pytest.mark.parametrize("headroom", [0.0, 0.05, 0.2, 0.5, 3.0])
def test_the_output_loads_and_finds_nothing_on_its_census(tmp_path: Path, headroom: float) -> None:
    metrics = {
        "job:http_requests:rate5m": 5000, "http.server.duration": 3100, "yes": 1200, 'we"ird': 700,
        "user_sessions": 16000, "tiny": 3,
    }  # fmt: skip
    labels = {
        "user_sessions": {"user_id": LabelStats(8000), "region": LabelStats(2), "instance": LabelStats(9)},
        "http.server.duration": {"url.path": LabelStats(310), "le": LabelStats(10)},
    }
    text = render(StarterInput(census(metrics), labels), StarterOptions(top=4, headroom=headroom, owner="on"))
    path = tmp_path / "budgets.yml"
    path.write_text(text)
    budgets = load_budgets(path, date(2026, 11, 22))
    names = [entry["name"] for entry in yaml.safe_load(text)["metrics"]]
    assert names == ["user_sessions", "job:http_requests:rate5m", "http.server.duration", "yes"]
    assert budgets.for_metric("user_sessions").owner == "on", "a quoted 'on' stays text, never true"
    assert budgets.for_metric("user_sessions").labels == {
        "user_id": readable(8000 * (1 + headroom)),
        "region": readable(2 * (1 + headroom)),
    }
    assert budgets.for_metric("http.server.duration").labels == {"url.path": readable(310 * (1 + headroom))}
    assert budgets.for_metric('we"ird').max_series == 10000
    result = evaluate(EvaluationInput(census(metrics), budgets, labels))
    assert result.violations == []
    if headroom >= 0.2:
        assert result.warnings == [], f"warn_ratio {warn_ratio(headroom)} sits above a fresh budget's usage"


def test_identifier_labels_are_suggested_commented_out_with_their_carriers() -> None:
    inp = StarterInput(
        census({"a": 10, "b": 5}) ,
        {"a": {"request_id": LabelStats(900), "client_ip": LabelStats(50), "code": LabelStats(4)},
         "b": {"request_id": LabelStats(30)}},
    )  # fmt: skip
    text = render(inp, StarterOptions())
    assert "  # labels_denied: [client_ip, request_id]\n" in text
    assert "#   request_id: 900 values; carried by a (900), b (30)" in text
    assert "labels_denied" not in yaml.safe_load(text)["defaults"]

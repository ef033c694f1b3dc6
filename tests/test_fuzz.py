"""Property-based tests of every parser of outside input: Prometheus answers, budgets, rule and config files.

Random and hostile data (huge and negative numbers, duplicate names, non-UTF-8 bytes, deep nesting,
very long values) must give a correct result or one of the project's errors, never anything else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.collect import CensusCollector, Deadline, PrometheusClient
from auditor.collect.client import RetryPolicy
from auditor.config.budgets import load_budgets
from auditor.config.rulefiles import load_path
from auditor.config.settings import CensusSettings, load_settings
from auditor.core.errors import AuditorError
from tests.support.builders import CLOCK

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
numbers = st.integers(min_value=-(2**70), max_value=2**70) | st.floats(allow_nan=True) | st.text(max_size=5)
names = st.sampled_from(["up", "user_sessions", "http_requests_total", ""]) | st.text(max_size=20)


def name_values() -> st.SearchStrategy[list[dict[str, Any]]]:
    """``[{name, value}]`` lists with duplicates, negative, huge and non-numeric values, missing keys."""
    entry = st.fixed_dictionaries({"name": names, "value": numbers}) | st.dictionaries(
        st.text(max_size=6), json_values, max_size=3
    )
    return st.lists(entry, max_size=20)


tsdb_data = st.fixed_dictionaries(
    {
        "headStats": st.fixed_dictionaries(
            dict.fromkeys(("numSeries", "numLabelPairs", "chunkCount", "minTime", "maxTime"), numbers)
        )
        | json_values,
        "seriesCountByMetricName": name_values(),
        "labelValueCountByLabelName": name_values(),
        "memoryInBytesByLabelName": name_values(),
        "seriesCountByLabelValuePair": name_values(),
    }
)
rule = st.fixed_dictionaries(
    {
        "name": names,
        "query": st.text(max_size=40),
        "type": st.sampled_from(["recording", "alerting", "x"]) | json_values,
        "health": st.sampled_from(["ok", "err", "unknown"]),
        "labels": st.dictionaries(st.text(max_size=5), json_values, max_size=3),
    }
)
rules_data = (
    st.fixed_dictionaries(
        {
            "groups": st.lists(
                st.fixed_dictionaries(
                    {
                        "name": names,
                        "file": st.text(max_size=10),
                        "interval": numbers,
                        "limit": numbers,
                        "rules": st.lists(rule, max_size=4),
                    }
                ),
                max_size=4,
            )
        }
    )
    | json_values
)
vector_data = st.fixed_dictionaries(
    {
        "resultType": st.sampled_from(["vector", "matrix", "scalar"]),
        "result": st.lists(
            st.fixed_dictionaries(
                {
                    "metric": st.dictionaries(st.text(max_size=8), json_values, max_size=3),
                    "value": st.lists(numbers, max_size=3),
                }
            ),
            max_size=5,
        ),
    }
)


def envelope(data: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """A success answer around ``data``, an error answer, another shape, or raw bytes (non-UTF-8 included)."""
    as_json = st.builds(lambda d: json.dumps({"status": "success", "data": d}).encode(), data)
    odd = st.builds(lambda d: json.dumps(d).encode(), json_values)
    nested = st.integers(min_value=1, max_value=200_000).map(
        lambda n: b'{"status":"success","data":' + b"[" * n + b"]" * n + b"}"
    )
    return as_json | odd | nested | st.binary(max_size=200)


def client_answering(body: bytes, status: int = 200) -> PrometheusClient:
    transport = httpx.MockTransport(lambda _request: httpx.Response(status, content=body))
    http = httpx.Client(transport=transport, base_url="http://prometheus.invalid")
    return PrometheusClient(http, CLOCK, RetryPolicy(attempts=1))


def outcome(call: Callable[[], Any]) -> Any:
    """The result, or the project's error: anything else fails the property."""
    try:
        return call()
    except AuditorError as exc:
        return exc


@FUZZ
@given(body=envelope(tsdb_data), status=st.sampled_from([200, 200, 400, 422, 500, 503]))
def test_tsdb_status_answers(body: bytes, status: int) -> None:
    result = outcome(lambda: client_answering(body, status).tsdb_status(limit=10))
    if isinstance(result, AuditorError):
        assert "/api/v1/status/tsdb" in str(result)  # the message names what failed
    else:
        assert result.head.num_series >= 0
        assert all(isinstance(v, int) and 0 <= v < 2**63 for v in result.series_count_by_metric_name.values())


@FUZZ
@given(body=envelope(st.fixed_dictionaries({"version": st.text(max_size=20) | numbers}) | json_values))
def test_buildinfo_answers(body: bytes) -> None:
    result = outcome(lambda: client_answering(body).buildinfo())
    if not isinstance(result, AuditorError):
        assert isinstance(result.version, str)
        assert all(isinstance(part, int) for part in result.version_tuple)


@FUZZ
@given(body=envelope(rules_data))
def test_rules_answers(body: bytes) -> None:
    outcome(lambda: client_answering(body).rules())


@FUZZ
@given(body=envelope(vector_data))
def test_instant_query_answers(body: bytes) -> None:
    result = outcome(lambda: client_answering(body).query_vector("count by (__name__) ({})", datetime.now(UTC)))
    if not isinstance(result, AuditorError):
        assert all(isinstance(value, float) for _, value in result)


@FUZZ
@given(body=envelope(st.lists(st.text(max_size=30) | json_values, max_size=20)))
def test_label_answers(body: bytes) -> None:
    result = outcome(lambda: client_answering(body).label_values("__name__"))
    if not isinstance(result, AuditorError):
        assert all(isinstance(value, str) for value in result)


@FUZZ
@given(body=envelope(st.fixed_dictionaries({"yaml": st.text(max_size=200)}) | json_values))
def test_config_answers(body: bytes) -> None:
    outcome(lambda: client_answering(body).external_labels())
    outcome(lambda: client_answering(body).evaluation_interval())


@FUZZ
@given(tsdb=tsdb_data)
def test_a_census_from_any_tsdb_status(tsdb: dict[str, Any]) -> None:
    """Prometheus '3.5' (the `limit` path) answering a random TSDB status: a census or a clean error."""
    answers = {
        "/api/v1/status/buildinfo": {"status": "success", "data": {"version": "3.5.0"}},
        "/api/v1/status/tsdb": {"status": "success", "data": tsdb},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.get(request.url.path, {"status": "success", "data": []})
        return httpx.Response(200, content=json.dumps(answer).encode())  # NaN and Infinity included

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://prometheus.invalid")
    collector = CensusCollector(PrometheusClient(http, CLOCK, RetryPolicy(attempts=1)), CensusSettings(), CLOCK)
    result = outcome(lambda: collector.collect("fuzz", Deadline.after(30, CLOCK.monotonic, threading.Event())))
    if not isinstance(result, AuditorError):
        assert all(isinstance(n, int) and n >= 0 for n in result.metrics.values())


yaml_text = st.text(max_size=300) | st.builds(json.dumps, json_values)  # JSON is YAML: structured but random documents


def budgets_like() -> st.SearchStrategy[str]:
    entry = st.fixed_dictionaries(
        {
            "name": names,
            "owner": names,
            "max_series": numbers,
            "labels": st.dictionaries(names, st.fixed_dictionaries({"max_values": numbers}), max_size=2),
        }
    ) | st.fixed_dictionaries(
        {"match": st.sampled_from(["^http_.*", "(", "[a-", ".*"]) | st.text(max_size=8), "max_series": numbers}
    )
    doc = st.fixed_dictionaries(
        {
            "defaults": st.fixed_dictionaries(
                {
                    "max_series": numbers,
                    "warn_ratio": numbers,
                    "max_growth": st.dictionaries(st.sampled_from(["7d", "1d", "x", "-1h"]), numbers, max_size=2),
                }
            ),
            "metrics": st.lists(entry, max_size=5),
        }
    )
    return st.builds(json.dumps, doc)


@FUZZ
@given(text=yaml_text | budgets_like())
def test_budgets_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "budgets.yml"
    path.write_text(text)
    outcome(lambda: load_budgets(path))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_budgets_files_that_are_not_utf8(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "budgets.yml"
    path.write_bytes(b"\xff\xfe" + raw)
    outcome(lambda: load_budgets(path))


def rule_files_like() -> st.SearchStrategy[str]:
    rule_entry = st.fixed_dictionaries(
        {
            "record": names,
            "expr": st.sampled_from(["sum(up)", "rate(x[5m])", "sum by (a (", "up{"]) | st.text(max_size=20),
        }
    ) | st.dictionaries(st.sampled_from(["record", "alert", "expr", "for", "labels", "bogus"]), json_values, max_size=4)
    group = st.fixed_dictionaries(
        {
            "name": names,
            "interval": st.sampled_from(["1m", "30s", "-1m", "soon"]) | numbers,
            "rules": st.lists(rule_entry, max_size=4),
        }
    )
    return st.builds(lambda groups: json.dumps({"groups": groups}), st.lists(group, max_size=3))


@FUZZ
@given(text=yaml_text | rule_files_like())
def test_rule_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(text)
    outcome(lambda: load_path(path))


@FUZZ
@given(text=yaml_text)
def test_config_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "auditor.yml"
    path.write_text(text)
    outcome(lambda: load_settings(path))


@pytest.mark.parametrize("size", [10 * 2**20])
def test_a_ten_megabyte_label_value_in_the_tsdb_status(size: int) -> None:
    huge = "v" * size
    data = {
        "headStats": {"numSeries": 1, "numLabelPairs": 1, "chunkCount": 1, "minTime": 0, "maxTime": 1},
        "seriesCountByMetricName": [{"name": "m", "value": 1}],
        "labelValueCountByLabelName": [{"name": huge, "value": 1}],
        "memoryInBytesByLabelName": [],
        "seriesCountByLabelValuePair": [{"name": f"l={huge}", "value": 1}],
    }
    status = client_answering(json.dumps({"status": "success", "data": data}).encode()).tsdb_status()
    assert status.series_count_by_metric_name == {"m": 1}
    assert status.label_value_count_by_label_name == {huge: 1}

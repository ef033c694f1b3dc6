"""Prometheus' answers as the client accepts them: the body read within its size bound, the envelope decoded (an
error status, ``Retry-After``), each answer validated (counts bounded to the store's int64) and turned into the
domain's objects. VictoriaMetrics' TSDB status has its own shape."""

from __future__ import annotations

import json
import math
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, RootModel

from auditor.collect.deadline import CallDeadline
from auditor.core.domain import HeadStats, LoadedRule, LoadedRuleGroup, ServerKind, TsdbStatus
from auditor.core.errors import (
    PrometheusHTTPError,
    PrometheusQueryError,
    PrometheusResponseError,
    PrometheusTimeout,
    PrometheusTooLarge,
)


class Strictish(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


INT64_MAX = 2**63 - 1


class NameValue(Strictish):
    name: str
    value: int = Field(ge=0, le=INT64_MAX)


class HeadStatsAnswer(Strictish):
    numSeries: int = Field(ge=0, le=INT64_MAX)
    numLabelPairs: int = Field(0, ge=0, le=INT64_MAX)
    chunkCount: int = Field(0, ge=0, le=INT64_MAX)
    minTime: int = 0
    maxTime: int = 0


class TsdbData(Strictish):
    headStats: HeadStatsAnswer
    seriesCountByMetricName: list[NameValue] | None = None
    labelValueCountByLabelName: list[NameValue] | None = None
    memoryInBytesByLabelName: list[NameValue] | None = None
    seriesCountByLabelValuePair: list[NameValue] | None = None


class VictoriaTsdbData(Strictish):
    """VictoriaMetrics' answer: totals in place of ``headStats``, lists capped by ``topN``."""

    totalSeries: int = Field(ge=0, le=INT64_MAX)
    totalLabelValuePairs: int = Field(0, ge=0, le=INT64_MAX)
    seriesCountByMetricName: list[NameValue] | None = None
    labelValueCountByLabelName: list[NameValue] | None = None
    seriesCountByLabelValuePair: list[NameValue] | None = None


class BuildInfoData(Strictish):
    version: str


class Flags(RootModel[dict[str, str]]):
    """``/api/v1/status/flags``: every flag by name, as the strings Prometheus prints."""


class MetadataEntry(Strictish):
    type: str


class Metadata(RootModel[dict[str, list[MetadataEntry]]]):
    """``/api/v1/metadata``: family -> its metadata as its targets declare it."""


class Sample(Strictish):
    metric: dict[str, str]
    value: tuple[float, str]


class Vector(Strictish):
    resultType: str
    result: list[Sample]


class Rule(Strictish):
    name: str
    type: str
    query: str
    labels: dict[str, str] = Field(default_factory=dict)
    health: str = "unknown"
    lastError: str = ""
    duration: float = Field(0.0, ge=0)
    keepFiringFor: float = Field(0.0, ge=0)  # Prometheus 2.42+; absent before
    annotations: dict[str, str] = Field(default_factory=dict)


class RuleGroup(Strictish):
    name: str
    file: str
    interval: float = Field(ge=0)
    limit: int = Field(0, ge=0)
    rules: list[Rule]


class Rules(Strictish):
    groups: list[RuleGroup]


class Strings(RootModel[list[str]]):
    pass


class ConfigData(Strictish):
    yaml_: str = Field(alias="yaml")


def sample_value(sample: Sample) -> float:
    try:
        value = float(sample.value[1])
    except ValueError as exc:
        raise PrometheusResponseError(f"/api/v1/query: sample value {sample.value[1]!r} is not a number") from exc
    if not -INT64_MAX <= value <= INT64_MAX:
        raise PrometheusResponseError(f"/api/v1/query: sample value {sample.value[1]!r} is out of range")
    return value


def loaded_group(group: RuleGroup) -> LoadedRuleGroup:
    rules = tuple(
        LoadedRule(
            r.name, r.type, r.query, dict(r.labels), r.health, r.lastError, r.duration, dict(r.annotations),
            r.keepFiringFor,
        )
        for r in group.rules
    )  # fmt: skip
    return LoadedRuleGroup(
        name=group.name, file=group.file, interval_seconds=group.interval, limit=group.limit, rules=rules
    )


def as_dict(items: list[NameValue] | None) -> dict[str, int]:
    return {item.name: item.value for item in items or ()}


def victoria_status(data: VictoriaTsdbData) -> TsdbStatus:
    return TsdbStatus(
        head=HeadStats(data.totalSeries, data.totalLabelValuePairs, 0, 0, 0),
        series_count_by_metric_name=as_dict(data.seriesCountByMetricName),
        label_value_count_by_label_name=as_dict(data.labelValueCountByLabelName),
        memory_in_bytes_by_label_name={},
        series_count_by_label_value_pair=as_dict(data.seriesCountByLabelValuePair),
        server=ServerKind.VICTORIAMETRICS,
    )


def read_capped(path: str, response: httpx.Response, limit: int, deadline: CallDeadline) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        deadline.bound(None, PrometheusTimeout)  # where no connection keeps it (a test's transport)
        size += len(chunk)
        if size > limit:
            raise PrometheusTooLarge(
                f"{path}: response larger than {limit:,} bytes (AUDITOR_PROMETHEUS__MAX_RESPONSE_BYTES)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def retry_after(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError, OverflowError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None  # "inf" and "nan" say nothing usable


def decode(path: str, response: httpx.Response, body: bytes, now: datetime) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        payload = None
    if not isinstance(payload, dict):
        status = response.status_code
        if response.is_success:
            raise PrometheusResponseError(f"{path}: response is not a JSON object ({describe_body(response, body)})")
        raise PrometheusHTTPError(
            f"{path}: HTTP {status} ({describe_body(response, body)})", status, retry_after(response, now)
        )
    if payload.get("status") == "error":
        error_type = str(payload.get("errorType", "unknown"))
        message = str(payload.get("error", "no error message"))
        raise PrometheusQueryError(f"{path}: HTTP {response.status_code}: {error_type}: {message}", error_type)
    if not response.is_success:
        status = response.status_code
        raise PrometheusHTTPError(
            f"{path}: HTTP {status} ({describe_body(response, body)})", status, retry_after(response, now)
        )
    if payload.get("status") != "success":
        raise PrometheusResponseError(f"{path}: unexpected status {payload.get('status')!r}")
    return payload


def describe_body(response: httpx.Response, body: bytes) -> str:
    content_type = response.headers.get("content-type", "no content type").split(";")[0]
    if not body:
        return f"empty body, {content_type}"
    snippet = " ".join(body[:120].decode("utf-8", "replace").split())
    return f"{content_type}: {snippet!r}"

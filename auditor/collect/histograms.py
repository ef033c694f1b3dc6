"""The histogram inventory: per classic histogram family and scrape job, its label sets, buckets and the buckets
that never fill, in a few queries per cycle (docs/histograms.md).

1. ``/api/v1/metadata`` names the families of ``type: histogram``; without it, the ``_bucket``, ``_sum`` and
   ``_count`` shape does. The largest ``max_families`` families (by ``_bucket`` series in the census) are measured.
2. Per chunk of ``CHUNK`` families, three instant queries whose selectors name the chunk's series only:
   ``count by (__name__, job) ({__name__=~"a_count|..."})`` (label sets),
   ``count by (__name__, job, le) ({__name__=~"a_bucket|..."})`` (buckets and their series) and
   ``sum by (__name__, job, le) (...)`` (cumulative counts: a bucket equal to the next lower one, or 0 for the
   lowest, has never filled since its counters started).
3. Per family with such a bucket, one query over the window confirms it:
   ``sum by (job, le) (increase(a_bucket[W]))``. Bucket counts are cumulative, so per label set a bucket's count
   is at least the next lower one's, and two sums are equal only when every label set's counts are.

The inventory runs once ``interval`` has passed since the last one (buckets change with deployments, not per
cycle); its queries and time are bounded, and a family past a bound is skipped and counted.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from auditor.collect.census import Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.core.domain import Census, ServerKind
from auditor.core.errors import PrometheusError
from auditor.core.histograms import Inventory, JobFamily, classic_families, empty_buckets, native_support
from auditor.core.promql import metric_selector, names_regex_selector, string, with_matchers

log = logging.getLogger(__name__)
CHUNK = 25
"""Families per query: 25 families of 12 buckets and 20 jobs answer 6,000 series, well under a megabyte."""
QUERIES_PER_CHUNK = 3


class HistogramBounds(Protocol):
    @property
    def max_families(self) -> int: ...

    @property
    def max_queries(self) -> int: ...

    @property
    def interval(self) -> timedelta: ...

    @property
    def window(self) -> timedelta: ...


@dataclass(frozen=True, slots=True)
class InventoryResult:
    inventory: Inventory | None
    """None when the inventory was not due this cycle (or the server could not be asked)."""
    queries: int = 0


Key = tuple[str, str]
"""(family, job)."""


class HistogramScan:
    def __init__(self, client: PrometheusClient, bounds: HistogramBounds, endpoints: OptionalEndpoints) -> None:
        self._client = client
        self._bounds = bounds
        self._endpoints = endpoints
        self.last_at: datetime | None = None

    def run(self, census: Census, deadline: Deadline) -> InventoryResult:
        """The inventory, when due; a failed query ends it for the cycle (what was measured is kept)."""
        at = census.collected_at
        if self._bounds.max_families == 0 or (self.last_at is not None and at - self.last_at < self._bounds.interval):
            return InventoryResult(None)
        if not any(name.endswith("_bucket") for name in census.metrics):
            return InventoryResult(None)  # no histogram can be there: not a request spent
        started = self._client.requests
        flags = None
        if census.server is not ServerKind.VICTORIAMETRICS:  # it serves no flags, and no switch applies there
            flags = self._endpoints.call("/api/v1/status/flags", self._client.flags, "the histogram switch check")
        types = self._endpoints.call("/api/v1/metadata", self._client.metadata, "histogram types by metadata")
        ranked = sorted(classic_families(census.metrics, types),
                        key=lambda f: (-census.metrics.get(f + "_bucket", 0), f))  # fmt: skip
        chosen = ranked[: self._bounds.max_families]
        families = self._measure(chosen, at, deadline)
        self.last_at = at
        support = native_support(census.server, census.prometheus_version, flags)
        measured = {f.metric for f in families}
        inventory = Inventory(census.prometheus_version, support, tuple(families), len(ranked) - len(measured))
        return InventoryResult(inventory, self._client.requests - started)

    def _measure(self, families: Sequence[str], at: datetime, deadline: Deadline) -> list[JobFamily]:
        out: list[JobFamily] = []
        budget = self._bounds.max_queries
        try:
            for chunk in (families[i : i + CHUNK] for i in range(0, len(families), CHUNK)):
                if budget < QUERIES_PER_CHUNK:
                    break
                deadline.check()
                shapes = self._shapes(chunk, at)
                budget -= QUERIES_PER_CHUNK
                for key in sorted(shapes):
                    shape = shapes[key]
                    if shape.candidates and budget > 0:
                        budget -= 1
                        shape.confirm(self._window_counts(key, at))
                    out.append(shape.family(key))
        except PrometheusError as exc:
            self._endpoints.failed(exc, "the histogram inventory of this cycle")
        return out

    def _shapes(self, chunk: Sequence[str], at: datetime) -> dict[Key, _Shape]:
        counts = names_regex_selector([f + "_count" for f in chunk])
        buckets = names_regex_selector([f + "_bucket" for f in chunk])
        shapes: dict[Key, _Shape] = {}
        for labels, value in self._client.query_vector(f"count by (__name__, job) ({counts})", at):
            shapes[(labels.get("__name__", "")[: -len("_count")], labels.get("job", ""))] = _Shape(int(value))
        for labels, value in self._client.query_vector(f"count by (__name__, job, le) ({buckets})", at):
            if (shape := shapes.get(_key(labels))) is not None and _le(labels) is not None:
                shape.series[labels["le"]] = int(value)
        for labels, value in self._client.query_vector(f"sum by (__name__, job, le) ({buckets})", at):
            if (shape := shapes.get(_key(labels))) is not None and _le(labels) is not None:
                shape.cumulative[labels["le"]] = value
        for shape in shapes.values():
            shape.candidates = _never_filled(shape.cumulative)
        return shapes

    def _window_counts(self, key: Key, at: datetime) -> dict[str, float]:
        family, job = key
        seconds = int(self._bounds.window.total_seconds())
        selector = metric_selector(family + "_bucket")
        job_matcher = f"job={string(job)}"
        expr = f"sum by (le) (increase({with_matchers(selector, job_matcher)}[{seconds}s]))"
        rows = self._client.query_vector(expr, at)
        return {labels["le"]: value for labels, value in rows if _le(labels) is not None}


class _Shape:
    """What the chunk's queries found of one (family, job)."""

    def __init__(self, label_sets: int) -> None:
        self.label_sets = label_sets
        self.series: dict[str, int] = {}
        """le -> its series."""
        self.cumulative: dict[str, float] = {}
        self.candidates: list[str] = []

    def confirm(self, window: Mapping[str, float]) -> None:
        """Keep the candidates that also never filled over the window."""
        self.candidates = [le for le in self.candidates if le in _never_filled(window)]

    def family(self, key: Key) -> JobFamily:
        empty = tuple(self.candidates)
        return JobFamily(key[0], key[1], self.label_sets, len(self.series), sum(self.series.values()), empty,
                         sum(self.series.get(le, 0) for le in empty))  # fmt: skip


def _key(labels: Mapping[str, str]) -> Key:
    return labels.get("__name__", "")[: -len("_bucket")], labels.get("job", "")


def _never_filled(counts: Mapping[str, float]) -> list[str]:
    """The ``le`` values (as given) of the buckets whose count equals the next lower one's, lowest first."""
    bounds = {float(le): le for le in counts}
    found = empty_buckets([(bound, [counts[le]]) for bound, le in bounds.items()])
    return [bounds[bound] for bound in found]


def _le(labels: Mapping[str, str]) -> float | None:
    """The bucket's bound; None for a series without a number there (not a bucket of a histogram)."""
    try:
        le = float(labels["le"])
    except (KeyError, ValueError):
        return None
    return None if math.isnan(le) else le

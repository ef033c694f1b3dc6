"""Label drill-down: which labels drive a metric's series count.

For each metric, ``/api/v1/labels?match[]=`` names its labels and
``/api/v1/label/<label>/values?match[]=`` counts each one's distinct values. For offenders, the
label with most values also gets ``count(count without (<label>) (<metric>))``: the series the
metric would keep without it. Requests, bytes and time are bounded per cycle; metrics past a
bound are skipped and reported, never half-done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from auditor.collect.bounds import DrilldownBounds
from auditor.collect.census import Deadline
from auditor.collect.client import PrometheusClient
from auditor.collect.optional import OptionalEndpoints
from auditor.core.domain import LabelStats
from auditor.core.errors import PrometheusError, PrometheusTimeout, PrometheusUnreachable
from auditor.core.promql import label as promql_label
from auditor.core.promql import name_selector
from auditor.core.remedies import removable
from auditor.core.value_shapes import shape

log = logging.getLogger(__name__)
SKIP_LABELS = frozenset({"__name__"})
PROOF_LABELS = 3
"""Labels of an offender measured per proof: one ``count without`` query each, beside one ``count``."""
PROOFS_KEPT = 10_000


@dataclass
class DrilldownResult:
    labels: dict[str, dict[str, LabelStats]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    requests: int = 0
    bytes: int = 0


class Drilldown:
    def __init__(
        self, client: PrometheusClient, settings: DrilldownBounds, endpoints: OptionalEndpoints | None = None
    ) -> None:
        self._client = client
        self._settings = settings
        self._endpoints = endpoints or OptionalEndpoints()
        self._proofs: dict[str, tuple[datetime, int | None, dict[str, tuple[int | None, int | None]]]] = {}
        """metric -> when its proof pairs were measured, its census count then, and label -> (count, count
        without): kept for ``proof_interval`` while the count holds, since a ``count without`` over a large
        metric costs Prometheus a census or more."""
        self._counts: Mapping[str, int] = {}

    def run(
        self, metrics: Sequence[str], offenders: set[str], at: datetime, deadline: Deadline, *,
        forbids: Callable[[str, str], bool] = lambda metric, label: False, series: Mapping[str, int] | None = None,
    ) -> DrilldownResult:  # fmt: skip
        """``forbids(metric, label)``: the label policy; a forbidden label is proven on any metric that has it.
        ``series``: the census counts; a metric's proof is measured again as soon as its count moved."""
        self._counts = series or {}
        result = DrilldownResult()
        started_requests, started_bytes = self._client.requests, self._client.bytes_received
        ends = deadline.monotonic() + self._settings.max_time.total_seconds()
        for index, metric in enumerate(metrics[: self._settings.max_metrics]):
            deadline.check()
            if self._spent(started_requests, started_bytes, deadline.monotonic() >= ends):
                result.skipped.extend(metrics[index:])
                break
            try:
                result.labels[metric] = self._one(metric, metric in offenders, at, forbids)
            except (PrometheusUnreachable, PrometheusTimeout) as exc:
                self._endpoints.failed(exc, "the drill-down of this cycle")
                result.skipped.extend(metrics[index:])
                break
            except PrometheusError as exc:
                self._endpoints.failed(exc, "the drill-down of such metrics")
                result.skipped.append(metric)
        else:
            result.skipped.extend(metrics[self._settings.max_metrics :])
        result.requests = self._client.requests - started_requests
        result.bytes = self._client.bytes_received - started_bytes
        if result.skipped:
            log.info("drill-down skipped %d metrics (bounds: requests, bytes, time)", len(result.skipped))
        return result

    def _spent(self, started_requests: int, started_bytes: int, out_of_time: bool) -> bool:
        return (
            self._client.requests - started_requests >= self._settings.max_requests
            or self._client.bytes_received - started_bytes >= self._settings.max_bytes
            or out_of_time
        )

    def _one(
        self, metric: str, offender: bool, at: datetime, forbids: Callable[[str, str], bool]
    ) -> dict[str, LabelStats]:  # fmt: skip
        match = [name_selector(metric)]
        names = [n for n in self._client.label_names(match) if n not in SKIP_LABELS]
        self._endpoints.succeeded("/api/v1/labels")
        stats = {}
        for name in names:
            values = self._client.label_values(name, match)
            found = shape(values)
            stats[name] = LabelStats(len(values), shape=found.value if found else None)
        if names:
            self._endpoints.succeeded(f"/api/v1/label/{names[-1]}/values")
        labels = [*(proof_labels(stats) if offender else []), *(n for n in stats if forbids(metric, n))]
        if labels := list(dict.fromkeys(labels)):
            for label, (with_, without) in self._proven(metric, labels, at).items():
                stats[label] = replace(stats[label], series_with=with_, series_without=without)
        return stats

    def _proven(self, metric: str, labels: list[str], at: datetime) -> dict[str, tuple[int | None, int | None]]:
        """label -> (count, count without it): the last measurement while it is recent, else a new one."""
        then, count, known = self._proofs.get(metric, (None, None, {}))
        fresh = then is not None and at - then < self._settings.proof_interval and count == self._counts.get(metric)
        if fresh and set(labels) <= set(known):
            return {label: known[label] for label in labels}
        selector = name_selector(metric)
        now = self._count(f"count({selector})", at)
        # Only a server that accepts UTF-8 names has such labels, and it accepts them quoted.
        without = {
            label: self._count(f"count(count without ({promql_label(label)}) ({selector}))", at) for label in labels
        }
        measured = {label: (now, n) for label, n in without.items()}
        if len(self._proofs) >= PROOFS_KEPT:
            self._proofs.clear()
        self._proofs[metric] = (at, self._counts.get(metric), measured)
        return measured

    def _count(self, query: str, at: datetime) -> int | None:
        vector = self._endpoints.call("/api/v1/query", lambda: self._client.query_vector(query, at), "estimates")
        if vector is None:
            return None
        return int(vector[0][1]) if vector else 0


def proof_labels(stats: dict[str, LabelStats]) -> list[str]:
    """The labels of an offender whose removal is measured: those with most values, at most ``PROOF_LABELS``."""
    return removable(stats)[:PROOF_LABELS]

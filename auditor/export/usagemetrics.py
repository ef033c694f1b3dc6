"""Self-metrics of query usage: the query log's reader, and the unused metrics per owner (bounded by owners)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric

from auditor.evaluate.usage import UsageSummary
from auditor.export.families import PREFIX, gauge, one_counter, one_gauge


def usage_families(usage: UsageSummary, read_failures: int) -> Iterator[Metric]:
    yield one_counter("query_log_lines", "Query-log lines read (the auditor's own included).", usage.lines)
    yield one_counter(
        "query_log_own_lines", "Query-log lines of the auditor's own queries (not usage).", usage.own_lines
    )
    yield one_counter(
        "query_log_parse_failures", "Query-log lines that are no entry or hold no PromQL.", usage.failures
    )
    skipped = CounterMetricFamily(
        PREFIX + "query_log_skipped_lines",
        "Query-log lines passed over since start, by reason (docs/operations.md): read once, never again.",
        labels=["reason"],
    )
    for reason, count in sorted(usage.skipped.items()):
        skipped.add_metric([reason], count)
    yield skipped
    yield one_counter("query_log_read_failures", "Cycles whose query-log read or write failed.", read_failures)
    yield one_gauge("query_log_behind_bytes", "Bytes of the query log left for the next cycle (bounds).",
                    usage.behind_bytes)  # fmt: skip
    if usage.lag_seconds is not None:
        yield one_gauge("query_log_lag_seconds", "From the newest query read to the read.", usage.lag_seconds)
    yield one_gauge("query_log_coverage_seconds", "How much of the unused window the query log covers.",
                    usage.coverage_seconds)  # fmt: skip
    yield gauge("unused_metrics", "Metrics no query, rule or dashboard read within the window, per owner.",
                {(owner,): n for owner, (n, _) in usage.unused.items()}, ["owner"])  # fmt: skip
    yield gauge("unused_series", "Series of those metrics, per owner: what dropping them saves.",
                {(owner,): s for owner, (_, s) in usage.unused.items()}, ["owner"])  # fmt: skip

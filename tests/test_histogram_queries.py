"""The rewriter of classic-histogram queries (auditor.core.histogram_queries); the real-server proof that the
rewritten queries answer the same is in tests/test_histograms_live.py."""

from __future__ import annotations

import pytest

from auditor.core.histogram_queries import families_read, rewrite

F = {"req_seconds"}

REWRITTEN = [
    ('histogram_quantile(0.9, sum by (le, route) (rate(req_seconds_bucket{job="a"}[5m])))',
     'histogram_quantile(0.9, sum by (route) (rate(req_seconds{job="a"}[5m])))'),
    ("histogram_quantile(0.9, sum(rate(req_seconds_bucket[5m])) by (le))",
     "histogram_quantile(0.9, sum(rate(req_seconds[5m])))"),
    ("histogram_quantile(0.5, rate(req_seconds_bucket[5m]))", "histogram_quantile(0.5, rate(req_seconds[5m]))"),
    ("histogram_quantile(0.5, sum by (le) (sum by (le, job) (irate(req_seconds_bucket[1m]))))",
     "histogram_quantile(0.5, sum(sum by (job) (irate(req_seconds[1m]))))"),
    ("sum by (route) (rate(req_seconds_count[5m]))", "sum by (route) (histogram_count(rate(req_seconds[5m])))"),
    ("rate(req_seconds_sum[5m]) / rate(req_seconds_count[5m])",
     "histogram_sum(rate(req_seconds[5m])) / histogram_count(rate(req_seconds[5m]))"),
    ("req_seconds_sum offset 1h", "histogram_sum(req_seconds offset 1h)"),
    ("req_seconds_count", "histogram_count(req_seconds)"),
    ('sum by (route) (rate(req_seconds_bucket{le="0.5"}[5m])) / sum by (route) (rate(req_seconds_count[5m]))',
     "histogram_fraction(-Inf, 0.5, sum by (route) (rate(req_seconds[5m])))"),
    ("increase(req_seconds_count[1h] offset 5m) > 10 and on (job) up",
     "histogram_count(increase(req_seconds[1h] offset 5m)) > 10 and on (job) up"),
    ("max_over_time(rate(req_seconds_count[1m])[10m:30s])",
     "max_over_time(histogram_count(rate(req_seconds[1m]))[10m:30s])"),
]  # fmt: skip

MANUAL = [
    ('sum by (route) (rate(req_seconds_bucket{le="0.5"}[5m])) / sum by (job) (rate(req_seconds_count[5m]))',
     "reads req_seconds_bucket outside histogram_quantile"),
    ("count(req_seconds_bucket)", "reads req_seconds_bucket outside histogram_quantile"),
    ("max by (le) (req_seconds_bucket)", "reads req_seconds_bucket outside"),
    ('histogram_quantile(0.9, sum by (le) (rate(req_seconds_bucket{le=~"0.1|0.5"}[5m])))', "some buckets only"),
    ("histogram_quantile(0.9, sum by (route) (rate(req_seconds_bucket[5m])))", "does not keep le"),
    ("histogram_quantile(0.9, max by (le) (rate(req_seconds_bucket[5m])))", "not rewritten here"),
    ("sum_over_time(req_seconds_count[5m])", "as a range outside rate, increase or irate"),
    ("sum by (le, verb) (increase(req_seconds_bucket[1h]))",
     "as a native histogram it is `sum by (verb) (increase(req_seconds[1h]))`"),
]  # fmt: skip


@pytest.mark.parametrize(("before", "after"), REWRITTEN)
def test_each_classic_form_is_rewritten_to_its_native_form(before: str, after: str) -> None:
    done = rewrite(before, F)
    assert done is not None
    assert (done.after, done.why) == (after, "")
    assert done.dual == f"({after}) or ({before})"


@pytest.mark.parametrize(("before", "why"), MANUAL)
def test_what_is_not_rewritten_says_why(before: str, why: str) -> None:
    done = rewrite(before, F)
    assert done is not None
    assert done.after is None
    assert done.dual is None
    assert why in done.why


def test_a_query_of_no_converted_family_is_none_of_the_rewriters_business() -> None:
    assert rewrite("up == 1", F) is None
    assert rewrite("rate(other_seconds_count[5m])", F) is None
    assert rewrite("req_seconds", F) is None  # already the native histogram
    assert families_read("a_count + req_seconds_sum + b_bucket", {"req_seconds", "b"}) == ["b", "req_seconds"]


def test_labels_strings_and_other_selectors_are_kept_as_they_were() -> None:
    done = rewrite('label_replace(rate(req_seconds_count{path="/a{}"}[5m]), "x", "$1", "job", "(.*)") + on (job) x', F)
    assert done is not None
    assert done.after == (
        'label_replace(histogram_count(rate(req_seconds{path="/a{}"}[5m])), "x", "$1", "job", "(.*)") + on (job) x'
    )

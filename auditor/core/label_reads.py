"""Which labels of which selector a PromQL expression reads.

    reads = label_reads(parse('sum by (route) (rate(http_requests_total{code="500"}[5m]))'))
    reads[0]    # (the selector of http_requests_total, frozenset({"code", "route"}))

A label is read when the answer depends on it: a matcher names it, an aggregation groups ``by`` it, a
vector match compares it (``on``, and every label but the ``ignoring`` ones, and every label when the
match names none), ``group_left``/``group_right`` copies it, ``label_replace``/``label_join`` take it as a
source, ``sort_by_label`` orders by it. ``without (L)`` reads every label but L.

A label key is a label name, ``EVERY`` (every label of the metric), or ``every_but(...)`` (every label but
those named). What an outer node reads is narrowed to what the inner aggregation keeps, so a vector
match over two sums reads only the labels the sums group by: ``sum(rate(a[5m])) / sum(rate(b[5m]))``
reads no label of ``a`` or ``b``. What cannot be narrowed is credited to every selector beneath: a reader
too many keeps a label; a reader too few would let a fix break a dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import promql_parser

EVERY = "*"
"""Every label of the metric is read (a vector match that names no labels)."""
_BUT = "!"
_SEP = "\x1f"
_SOURCES = {"label_replace": slice(3, 4), "label_join": slice(3, None), "sort_by_label": slice(1, None),
            "sort_by_label_desc": slice(1, None)}  # fmt: skip
"""The string arguments of these functions that name labels they read."""

_SELECTING = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
"""Aggregations that pass their input's series on whole, every label with them."""

Keys = frozenset[str]


def every_but(labels: Iterable[str]) -> str:
    """The key for "every label but ``labels``" (``without``, ``ignoring``)."""
    return _BUT + _SEP.join(sorted(set(labels)))


def reads_label(keys: Iterable[str], label: str) -> bool:
    """Whether a set of label keys reads ``label``."""
    return any(key in {label, EVERY} or (key[:1] == _BUT and label not in _excluded(key)) for key in keys)


def describe(key: str) -> str:
    """A key as people read it: ``route``, ``every label``, ``every label but instance, pod``."""
    if key == EVERY:
        return "every label"
    if key[:1] == _BUT:
        return "every label but " + ", ".join(sorted(_excluded(key)))
    return key


def label_reads(tree: Any) -> list[tuple[promql_parser.VectorSelector, Keys]]:
    """(selector, the label keys read of it) for every vector selector of a parsed expression."""
    out: list[tuple[promql_parser.VectorSelector, Keys]] = []
    stack: list[tuple[Any, Keys]] = [(tree, frozenset())]
    while stack:
        node, outer = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            out.append((node, outer | _matched(node)))
        else:
            stack.extend(_children(node, outer))
    return out


def _children(node: Any, outer: Keys) -> list[tuple[Any, Keys]]:
    if isinstance(node, promql_parser.MatrixSelector):
        return [(node.vector_selector, outer)]
    if isinstance(node, promql_parser.AggregateExpr):
        keys = _aggregated(node.modifier, outer)
        return [(node.expr, outer | keys if str(node.op) in _SELECTING else keys)]
    if isinstance(node, promql_parser.BinaryExpr):
        keys = outer | _matching(node)
        return [(node.lhs, keys), (node.rhs, keys)]
    if isinstance(node, promql_parser.Call):
        keys = outer | _sources(node)
        return [(arg, keys) for arg in node.args or () if isinstance(arg, promql_parser.Expr)]
    inner = getattr(node, "expr", None)  # parentheses, unary minus, subqueries
    return [(inner, outer)] if isinstance(inner, promql_parser.Expr) else []


def _matched(node: promql_parser.VectorSelector) -> Keys:
    matchers = list(node.matchers.matchers) + [m for group in node.matchers.or_matchers or () for m in group]
    return frozenset(m.name for m in matchers if m.name != "__name__")


def _aggregated(modifier: Any, outer: Keys) -> Keys:
    """What an aggregation reads of its input: its grouping, and of the outer reads what its output keeps."""
    if modifier is None:
        return frozenset()  # sum(x): one series without labels, nothing outside can read a label through it
    labels = frozenset(modifier.labels)
    if modifier.type == promql_parser.AggModifierType.By:
        return labels
    kept = {key for key in outer if key != EVERY and key[:1] != _BUT and key not in labels}
    narrowed = {every_but(labels | _excluded(key)) for key in outer if key[:1] == _BUT}
    return frozenset(kept | narrowed | {every_but(labels)})


def _matching(node: promql_parser.BinaryExpr) -> Keys:
    """The labels a binary operation between two vectors compares or copies; none against a scalar."""
    if _scalar(node.lhs) or _scalar(node.rhs):
        return frozenset()
    modifier = node.modifier
    matching = modifier.matching if modifier is not None else None
    copied = frozenset(modifier.group_labels or ()) if modifier is not None else frozenset()
    if matching is None:
        return copied | {EVERY}
    if matching.type == promql_parser.LabelModifierType.Include:
        return copied | frozenset(matching.labels)
    return copied | {every_but(matching.labels)}


def _sources(node: promql_parser.Call) -> Keys:
    where = _SOURCES.get(node.func.name)
    if where is None:
        return frozenset()
    args = list(node.args or ())[where]
    return frozenset(arg.val for arg in args if isinstance(arg, promql_parser.StringLiteral) and arg.val)


def _scalar(node: Any) -> bool:
    if isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return True
    if isinstance(node, promql_parser.Call):
        return bool(node.func.return_type == promql_parser.ValueType.Scalar)
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return _scalar(node.expr)
    if isinstance(node, promql_parser.BinaryExpr):
        return _scalar(node.lhs) and _scalar(node.rhs)
    return False


def _excluded(key: str) -> frozenset[str]:
    return frozenset(label for label in key[1:].split(_SEP) if label)

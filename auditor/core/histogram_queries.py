"""Queries of classic histograms rewritten for native histograms with custom buckets (docs/histograms.md).

    rewrite('histogram_quantile(0.9, sum by (le, route) (rate(req_seconds_bucket[5m])))', {"req_seconds"})
    # Rewrite(before=..., after='histogram_quantile(0.9, sum by (route) (rate(req_seconds[5m])))')

Once a family ``m`` is converted, ``m_bucket``, ``m_sum`` and ``m_count`` stop matching and ``le`` is gone. The
rewrites, each checked against a real Prometheus 3.5 (equal answers on the same samples):

- ``histogram_quantile(q, sum by (le, X) (rate(m_bucket[w])))`` -> ``histogram_quantile(q, sum by (X) (rate(m[w])))``;
- ``f(m_count[w])`` -> ``histogram_count(f(m[w]))`` and ``m_count`` -> ``histogram_count(m)`` (``f``: ``rate``,
  ``increase``, ``irate``); ``m_sum`` likewise with ``histogram_sum``;
- ``E(m_bucket{le="B"}) / E(m_count)`` (the same ``E`` both sides) -> ``histogram_fraction(-Inf, B, E(m))``:
  ``-Inf``, because the classic ratio counts every observation up to ``B``, negative ones too.

Anything else that reads a converted family (its buckets outside those forms, a ``__name__`` matcher, a ``le``
matcher in a quantile) is not rewritten: the ``Rewrite`` says why, and a person decides.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import promql_parser

from auditor.core.errors import InvalidPromQL
from auditor.core.promql import label, string
from auditor.core.promql_parse import names, parse

RANGE_FUNCTIONS = frozenset({"rate", "increase", "irate"})
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
_SUFFIXES = ("_bucket", "_count", "_sum")
_BUCKETS = 'reads {0}_bucket outside histogram_quantile and outside a ratio E({0}_bucket{{le="B"}}) / E({0}_count)'


@dataclass(frozen=True, slots=True)
class Rewrite:
    before: str
    after: str | None
    """None: not rewritten (``why`` says why)."""
    why: str = ""

    @property
    def dual(self) -> str | None:
        """A form that answers before the switch, during the dual period and after it: the native answer where it
        exists, else the classic one (``or`` matches label sets without the metric name)."""
        return None if self.after is None else f"({self.after}) or ({self.before})"


def families_read(expr: str, families: Collection[str]) -> list[str]:
    """The converted families an expression reads (by its ``_bucket``, ``_count`` or ``_sum`` series)."""
    found = {name[: -len(s)] for name in names(expr) for s in _SUFFIXES if name.endswith(s)}
    return sorted(found & set(families))


def rewrite(expr: str, families: Collection[str]) -> Rewrite | None:
    """``expr`` for the converted ``families``; None when it reads none of them."""
    if not families_read(expr, families):
        return None
    rewriter = _Rewriter(frozenset(families))
    try:
        tree = parse(expr)
        after = _tidy(rewriter.emit(tree))
        parse(after)
    except _Manual as exc:
        return Rewrite(expr, None, _bucket_series(rewriter, tree) or str(exc))
    except InvalidPromQL as exc:
        return Rewrite(expr, None, f"not valid PromQL: {exc}")
    return Rewrite(expr, after)


def _bucket_series(rewriter: _Rewriter, tree: Any) -> str:
    """Why a whole expression that returns buckets by ``le`` (a recorded or plotted bucket series, a heatmap) is
    not rewritten, with its native form: that one returns histograms, so whatever reads it changes too."""
    try:
        native = _tidy(rewriter.native(tree, "_bucket", quantile=True))
    except _Manual:
        return ""
    return (f"returns buckets by le (a recorded or plotted bucket series): as a native histogram it is `{native}`, "
            "and what reads it must change with it")  # fmt: skip


_GRAFANA_INTERVALS = re.compile(
    r"\$__(?:rate_interval|interval|range)(?:_ms|_s)?|\$\{__(?:rate_interval|interval|range)\}"
)
_MARK_SECONDS = 977_777
"""Grafana's interval variables stand in as durations no dashboard writes by hand (11d7h36m17s, and on)."""


def rewrite_grafana(expr: str, families: Collection[str]) -> Rewrite | None:
    """``rewrite`` for a dashboard query: its interval variables (``$__rate_interval``) come out as they went in;
    other variables inside strings (``{job=~"$job"}``) are kept by the parser as they are."""
    variables = sorted(set(_GRAFANA_INTERVALS.findall(expr)))
    if not variables:
        return rewrite(expr, families)
    marks = {v: f"{_MARK_SECONDS + i}s" for i, v in enumerate(variables)}
    marked = _GRAFANA_INTERVALS.sub(lambda m: marks[m.group(0)], expr)
    done = rewrite(marked, families)
    if done is None or done.after is None:
        return None if done is None else Rewrite(expr, None, done.why)
    after = done.after
    for variable, mark in marks.items():
        after = after.replace(_printed(mark), variable)
    return Rewrite(expr, after)


def _printed(duration: str) -> str:
    """A duration as the parser prints it (``977777s`` -> ``11d7h36m17s``)."""
    text = str(promql_parser.parse(f"x[{duration}]"))  # noqa: TID251 - a literal known to parse
    return text[text.index("[") + 1 : -1]


class _Manual(Exception):
    """A part of the expression this rewriter does not turn into a native-histogram query."""


class _Rewriter:
    def __init__(self, families: frozenset[str]) -> None:
        self.families = families

    def kind(self, selector: Any) -> tuple[str, str] | None:
        """(family, suffix) of a selector of a converted family, else None."""
        name = selector.name
        if name is None:
            for m in selector.matchers.matchers:
                if m.name == "__name__" and families_read(m.value, self.families):
                    raise _Manual(f"selects {m.value!r} by a __name__ matcher")
            return None
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and name[: -len(suffix)] in self.families:
                return name[: -len(suffix)], suffix
        return None

    def emit(self, node: Any) -> str:
        """The node's text, with what reads a converted family rewritten (or ``_Manual``)."""
        emitter = getattr(self, "_" + type(node).__name__.lower(), None)
        return str(node) if emitter is None else str(emitter(node))

    def _vectorselector(self, node: Any) -> str:
        kind = self.kind(node)
        if kind is None:
            return str(node)
        family, suffix = kind
        if suffix == "_bucket":
            raise _Manual(_BUCKETS.format(family))
        return f"histogram{suffix}({_renamed(node, node, family)})"

    def _matrixselector(self, node: Any) -> str:
        kind = self.kind(node.vector_selector)
        if kind is None:
            return str(node)
        if kind[1] == "_bucket":
            raise _Manual(_BUCKETS.format(kind[0]))
        raise _Manual(f"reads {''.join(kind)} as a range outside rate, increase or irate")

    def _call(self, node: Any) -> str:
        name, args = node.func.name, node.args
        if name == "histogram_quantile" and len(args) == 2:
            return f"histogram_quantile({self.emit(args[0])}, {self.native(args[1], '_bucket', quantile=True)})"
        if name in RANGE_FUNCTIONS and len(args) == 1 and type(args[0]).__name__ == "MatrixSelector":
            kind = self.kind(args[0].vector_selector)
            if kind is not None and kind[1] != "_bucket":
                return f"histogram{kind[1]}({name}({_renamed(args[0], args[0].vector_selector, kind[0])}))"
        return f"{name}({', '.join(self.emit(a) for a in args)})"

    def _aggregateexpr(self, node: Any) -> str:
        param = f"{self.emit(node.param)}, " if node.param is not None else ""
        modifier = f" {node.modifier} " if node.modifier is not None and str(node.modifier) else ""
        return f"{node.op}{modifier}({param}{self.emit(node.expr)})"

    def _binaryexpr(self, node: Any) -> str:
        if str(node.op) == "/" and (fraction := self.fraction(node)) is not None:
            return fraction
        modifier = f" {node.modifier}" if node.modifier is not None and str(node.modifier) else ""
        return f"{self.emit(node.lhs)} {node.op}{modifier} {self.emit(node.rhs)}"

    def _parenexpr(self, node: Any) -> str:
        return f"({self.emit(node.expr)})"

    def _unaryexpr(self, node: Any) -> str:
        return f"-{self.emit(node.expr)}"

    def _subqueryexpr(self, node: Any) -> str:
        whole, inner = str(node), str(node.expr)
        if not whole.startswith(inner):
            raise _Manual("a subquery this rewriter cannot print")
        return self.emit(node.expr) + whole[len(inner) :]

    def fraction(self, node: Any) -> str | None:
        """``E(m_bucket{le="B"}) / E(m_count)`` as ``histogram_fraction(-Inf, B, E(m))``; None when not that."""
        if node.modifier is not None and str(node.modifier):
            return None
        try:
            bound, upper = self.bucket_bound(node.lhs), self.native(node.lhs, "_bucket", quantile=False)
            lower = self.native(node.rhs, "_count", quantile=False)
        except _Manual:
            return None
        if bound is None or upper != lower:
            return None
        return f"histogram_fraction(-Inf, {bound}, {upper})"

    def bucket_bound(self, node: Any) -> str | None:
        """The ``le`` of the one bucket an expression reads (``le="B"``), else None."""
        leaf = _leaf(node)
        if leaf is None:
            return None
        bounds = [m for m in leaf.matchers.matchers if m.name == "le"]
        if len(bounds) != 1 or _OPS.get(str(bounds[0].op)) != "=":
            return None
        return bounds[0].value if bounds[0].value != "+Inf" else "+Inf"

    def native(self, node: Any, suffix: str, *, quantile: bool) -> str:
        """An expression over one classic series kind (``suffix``), as the same over the native histogram.

        In a quantile each aggregation drops ``le`` from its ``by`` (it must be there: a classic quantile needs it);
        elsewhere the aggregation is kept as it is, and ``le`` is only allowed as the one bucket's matcher.
        """
        kind = type(node).__name__
        if kind == "ParenExpr":
            return f"({self.native(node.expr, suffix, quantile=quantile)})"
        if kind == "AggregateExpr" and str(node.op) == "sum" and node.param is None:
            return f"sum{_without_le(node.modifier, quantile)}({self.native(node.expr, suffix, quantile=quantile)})"
        if kind == "Call" and node.func.name in RANGE_FUNCTIONS and type(node.args[0]).__name__ == "MatrixSelector":
            matrix = node.args[0]
            return f"{node.func.name}({self._leaf_renamed(matrix, matrix.vector_selector, suffix, quantile)})"
        if kind == "VectorSelector":
            return self._leaf_renamed(node, node, suffix, quantile)
        raise _Manual(f"{'histogram_quantile' if quantile else 'a bucket ratio'} over an expression not rewritten here")

    def _leaf_renamed(self, node: Any, selector: Any, suffix: str, quantile: bool) -> str:
        kind = self.kind(selector)
        if kind is None or kind[1] != suffix:
            raise _Manual(f"expected a {suffix} series of a converted family")
        if quantile and any(m.name == "le" for m in selector.matchers.matchers):
            raise _Manual("histogram_quantile over some buckets only (a le matcher)")
        return _renamed(node, selector, kind[0])


def _leaf(node: Any) -> Any:
    """The one selector under parentheses, sums and a range function, else None."""
    while True:
        kind = type(node).__name__
        if kind in ("ParenExpr", "AggregateExpr"):
            node = node.expr
        elif kind == "Call" and len(node.args) == 1:
            node = node.args[0]
        elif kind == "MatrixSelector":
            return node.vector_selector
        else:
            return node if kind == "VectorSelector" else None


def _without_le(modifier: Any, quantile: bool) -> str:
    if modifier is None:
        if quantile:
            raise _Manual("a sum without le in histogram_quantile (the classic query is broken too)")
        return ""
    labels = list(modifier.labels)
    by = modifier.type == promql_parser.AggModifierType.By
    if quantile and by != ("le" in labels):
        raise _Manual("a sum that does not keep le in histogram_quantile")
    if not quantile and "le" in labels:
        raise _Manual("a sum by le outside histogram_quantile")
    kept = [n for n in labels if n != "le"]
    if by and not kept:
        return ""
    return f" {'by' if by else 'without'} ({', '.join(label(n) for n in kept)}) "


def _renamed(node: Any, selector: Any, family: str) -> str:
    """``node`` (a selector, or a range over one) with the family's name and without ``le`` matchers."""
    if selector.matchers.or_matchers:
        raise _Manual("a selector with `or` matchers")
    text = str(node)
    end = _closing_brace(text, text.index("{"))
    kept = [m for m in selector.matchers.matchers if m.name not in ("le", "__name__")]
    matchers = ",".join(f"{label(m.name)}{_OPS[str(m.op)]}{string(m.value)}" for m in kept)
    return family + (f"{{{matchers}}}" if matchers else "") + text[end + 1 :]


def _closing_brace(text: str, start: int) -> int:
    i, quote = start + 1, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch == "}":
            return i
        i += 1
    raise _Manual("a selector this rewriter cannot print")


def _tidy(text: str) -> str:
    """The parser's ``name{}`` printed as ``name``, outside strings."""
    out, i, quote = [], 0, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i : i + 2])
                i += 2
                continue
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif text.startswith("{}", i) and out and (out[-1][-1:].isalnum() or out[-1][-1:] in "_:"):
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)

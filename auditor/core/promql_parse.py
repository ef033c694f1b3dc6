"""The one door to the PromQL parser: its input is bounded, and whatever it does wrong is an invalid query.

    tree = parse("sum(rate(http_requests_total[5m]))")     # a promql_parser expression
    parse("(" * 10_000 + "up" + ")" * 10_000)             # InvalidPromQL (too deep), before the parser runs

promql-parser is a Rust parser whose memory grows with the depth of the tree it builds, superlinearly
(measured with 0.12: 1,000 nested parentheses take 70 MiB, a chain of 1,000 ``+`` 155 MiB; 10,000 levels
take 6.5 GB or crash the process with a stack overflow), and that panics on some durations (``up[1e20]``:
a ``PanicException``, which is a ``BaseException``, not an ``Exception``). Every expression the product
reads (query log, rule files, live rules, dashboards) comes here first, so:

- an expression over ``MAX_CHARS`` characters, ``MAX_NESTING`` levels of brackets or ``MAX_OPERATORS``
  operators outside selectors never reaches the parser (the largest of the real-world rule files
  tested has 1,679 characters, 8 levels and 62 operators);
- a number in a duration position beyond what Prometheus can represent (``up[1e20]``, ``offset 1e400``)
  is refused before the parser would panic on it;
- any other exception or panic of the parser becomes ``InvalidPromQL``.

``names(expr)`` reads the metric names of an expression without the parser (a linear scan of its
identifiers): what a caller that must not under-count readers uses when the parser refuses the text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import promql_parser

from auditor.core.errors import InvalidPromQL
from auditor.core.promql import raw_strings_quoted, token_end

MAX_CHARS = 64 * 1024
MAX_NESTING = 64
MAX_OPERATORS = 256
MAX_DURATION_SECONDS = (2**63 - 1) / 1e9
"""Prometheus keeps durations as int64 nanoseconds (about 292 years)."""

_OPERATOR_CHARS = frozenset("+-*/%^<>")
_KEYWORD_OPERATORS = frozenset({"and", "or", "unless", "atan2"})
_IDENTIFIER = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""A scanned word stops at ``:``, which also separates a subquery's range from its step (``[5m:1e20]``)."""
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|\d*\.?\d+(?:[eE][+-]?\d+)?)")
_NOT_METRICS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool", "start", "end"}
    | _KEYWORD_OPERATORS
)


def parse(expr: str) -> Any:
    """The parsed expression; ``InvalidPromQL`` (a ``ValueError``) for anything the parser should not or cannot take."""
    check_shape(expr)
    try:
        return promql_parser.parse(raw_strings_quoted(expr))
    except Exception as exc:
        raise InvalidPromQL(str(exc) or type(exc).__name__, "invalid") from None
    except BaseException as exc:  # pyo3's PanicException: a Rust panic, not a Python exception
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise InvalidPromQL(f"the PromQL parser failed on this expression ({_first_line(exc)})", "panic") from None


_CHILDREN = ("param", "lhs", "rhs", "expr")


def vector_selectors(tree: Any) -> Iterator[promql_parser.VectorSelector]:
    """Every vector selector of a parsed expression, in order of appearance, each node visited once.

    ``promql_parser.walk`` costs far more than linear time in the depth of the tree (0.9 s for a chain of
    200 ``or``, measured with 0.12), which a query log's anyone could exploit; this walk is linear.
    """
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, promql_parser.VectorSelector):
            yield node
        elif isinstance(node, promql_parser.MatrixSelector):
            stack.append(node.vector_selector)
        else:
            children = [getattr(node, name, None) for name in _CHILDREN] + list(getattr(node, "args", None) or ())
            stack.extend(child for child in reversed(children) if isinstance(child, promql_parser.Expr))


def check_shape(expr: str) -> None:
    """Refuse what would cost the parser too much, or make it panic, in one linear pass over the text."""
    if len(expr) > MAX_CHARS:
        raise InvalidPromQL(f"expression of {len(expr):,} characters: at most {MAX_CHARS:,} are read", "too_long")
    _Scan(expr).run()


class _Scan:
    """Brackets, operators and duration numbers of an expression; strings and comments skipped."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.stack: list[str] = []
        self.operators = 0
        self.after_offset = False

    def run(self) -> None:
        i, n = 0, len(self.expr)
        while i < n:
            i = self.step(i)

    def step(self, i: int) -> int:
        char = self.expr[i]
        if char in "\"'`#":
            return token_end(self.expr, i)
        if char in "([{":
            self.open(char)
        elif char in ")]}":
            self.stack = self.stack[:-1]
        elif char.isdigit() or (char == "." and self.expr[i + 1 : i + 2].isdigit()):
            return self.number(i)
        elif char.isalpha() or char == "_":
            return self.identifier(i)
        elif char in _OPERATOR_CHARS and "{" not in self.stack:
            self.operator()
        return i + 1

    def open(self, char: str) -> None:
        self.stack.append(char)
        if len(self.stack) > MAX_NESTING:
            raise InvalidPromQL(f"more than {MAX_NESTING} levels of brackets", "too_deep")

    def operator(self) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise InvalidPromQL(f"more than {MAX_OPERATORS} operators", "too_complex")

    def identifier(self, i: int) -> int:
        match = _WORD.match(self.expr, i)
        end = match.end() if match else i + 1
        word = self.expr[i:end].lower()
        if "{" not in self.stack:
            if word in _KEYWORD_OPERATORS:
                self.operator()
            self.after_offset = word == "offset"
        return end

    def number(self, i: int) -> int:
        match = _NUMBER.match(self.expr, i)
        end = match.end() if match else i + 1
        in_duration = (self.stack and self.stack[-1] == "[") or self.after_offset
        unit = self.expr[end : end + 1].isalpha()
        if in_duration and not unit and not _representable(self.expr[i:end]):
            raise InvalidPromQL(f"duration {self.expr[i:end]} is out of range (at most 292 years)", "invalid")
        self.after_offset = False
        return end


def _representable(number: str) -> bool:
    try:
        value = float.fromhex(number) if number[:2].lower() == "0x" else float(number)
    except (ValueError, OverflowError):
        return False
    return math.isfinite(value) and value <= MAX_DURATION_SECONDS


def names(expr: str) -> list[str]:
    """Bare metric names of ``expr`` without the parser: identifiers outside strings, comments and selectors' braces.

    An over-count (a label of a ``by`` clause, a function) is the safe side where it is used: a reader too many
    keeps a metric from being called unused; a reader too few could drop what someone reads.

    >>> names('sum by (job) (rate(http_requests_total{code="500"}[5m])) / on() up')
    ['sum', 'job', 'rate', 'http_requests_total', 'up']
    """
    found: list[str] = []
    i, n, braces = 0, len(expr), 0
    while i < n:
        char = expr[i]
        if char in "\"'`#":
            i = token_end(expr, i)
            continue
        braces += (char == "{") - (char == "}")
        match = _IDENTIFIER.match(expr, i) if char.isalpha() or char in "_:" else None
        if match is None:
            i += 1
            continue
        word = match.group(0)
        if braces <= 0 and word.lower() not in _NOT_METRICS and word not in found and not _is_duration(expr, i):
            found.append(word)
        i = match.end()
    return found


def _is_duration(expr: str, i: int) -> bool:
    return i > 0 and expr[i - 1].isdigit()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]

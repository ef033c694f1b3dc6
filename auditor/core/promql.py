"""Writing PromQL and Prometheus regexes for any metric or label name, UTF-8 ones included (Prometheus 3).

A legacy name (``[a-zA-Z_:][a-zA-Z0-9_:]*`` for metrics, no ``:`` for labels) is written bare; any
other name is quoted inside the braces, as Prometheus 3 documents::

    metric_selector("http_requests_total")             # 'http_requests_total'
    metric_selector("http.server.active_requests")     # '{"http.server.active_requests"}'
    label("url.scheme")                                # '"url.scheme"'
    quote_meta("http.server.active_requests")          # 'http\\.server\\.active_requests'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

QUERY_TAG = "# metrics-auditor"
"""Appended (as a PromQL comment) to every query the auditor sends, so its own queries are not usage.

Here and not beside the query-log model: the client needs it, and that model loads promql-parser."""

_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_REGEX_META = re.compile(r"[\\.+*?()|\[\]{}^$]")


def is_legacy_metric(name: str) -> bool:
    return _LEGACY_METRIC.fullmatch(name) is not None


def is_legacy_label(name: str) -> bool:
    return _LEGACY_LABEL.fullmatch(name) is not None


def string(text: str) -> str:
    """A PromQL string literal: double-quoted, with Go's escapes (JSON's are a subset of them)."""
    return json.dumps(text, ensure_ascii=False)


def quote_meta(text: str) -> str:
    """Go's ``regexp.QuoteMeta``: the RE2 regex that matches exactly ``text``.

    Python's ``re.escape`` is not a substitute: it escapes spaces and ``#``, which RE2 refuses.

    >>> quote_meta("a.b+c d")
    'a\\\\.b\\\\+c d'
    """
    return _REGEX_META.sub(lambda m: "\\" + m.group(0), text)


def metric_selector(metric: str) -> str:
    """The shortest selector of every series of ``metric``: bare, or quoted inside braces."""
    return metric if is_legacy_metric(metric) else "{" + string(metric) + "}"


def name_selector(metric: str) -> str:
    """``{__name__="metric"}``: valid for any name on every Prometheus version, 2.x included.

    >>> name_selector("up")
    '{__name__="up"}'
    """
    return "{__name__=" + string(metric) + "}"


def names_regex_selector(names: Iterable[str]) -> str:
    """``{__name__=~"a|b"}`` matching exactly these names (regex metacharacters escaped).

    >>> names_regex_selector(["up", "http.server.requests"])
    '{__name__=~"up|http\\\\\\\\.server\\\\\\\\.requests"}'
    """
    return "{__name__=~" + string("|".join(quote_meta(name) for name in names)) + "}"


def with_matchers(selector: str, *matchers: str) -> str:
    """A selector (``m``, or one in braces) with more matchers.

    >>> with_matchers(name_selector("up"), 'job="api"')
    '{__name__="up", job="api"}'
    >>> with_matchers("up", 'job="api"')
    'up{job="api"}'
    """
    more = ", ".join(matchers)
    return selector[:-1] + f", {more}}}" if selector.endswith("}") else f"{selector}{{{more}}}"


def label(name: str) -> str:
    """A label name in a grouping (``by``/``without``) or matcher: bare, or quoted."""
    return name if is_legacy_label(name) else string(name)


def raw_strings_quoted(expr: str) -> str:
    """``expr`` with every raw (backtick) string written as a double-quoted one, which means the same.

    promql-parser (0.12) applies escape sequences inside raw strings, so ``le=~`1(\\.0)?``` fails with
    "unknown escape sequence" although Prometheus takes it (and re-prints it double-quoted). Comments
    and the other strings are skipped, so a backtick inside them is left alone.

    >>> raw_strings_quoted(r'label_replace(x, "a", "$1", "b", `(\\d+)`) # `c`')
    'label_replace(x, "a", "$1", "b", "(\\\\\\\\d+)") # `c`'
    """
    if "`" not in expr:
        return expr
    out: list[str] = []
    i, n = 0, len(expr)
    while i < n:
        end = token_end(expr, i)
        token = expr[i:end]
        out.append(string(token[1:-1]) if token.startswith("`") and token.endswith("`") and len(token) > 1 else token)
        i = end
    return "".join(out)


def token_end(expr: str, i: int) -> int:
    """End of the comment or string that starts at ``i``, else ``i + 1``."""
    char = expr[i]
    if char == "#":
        newline = expr.find("\n", i)
        return len(expr) if newline < 0 else newline
    if char == "`":
        close = expr.find("`", i + 1)
        return len(expr) if close < 0 else close + 1
    if char in "\"'":
        j = i + 1
        while j < len(expr) and expr[j] != char:
            j += 2 if expr[j] == "\\" else 1
        return min(j + 1, len(expr))
    return i + 1


def label_path(label: str) -> str:
    """A label name as a URL path segment: legacy names as they are, others in the API's ``U__`` escaping.

    >>> label_path("job"), label_path("url.scheme")
    ('job', 'U__url_2e_scheme')
    """
    if is_legacy_label(label):
        return label
    return "U__" + "".join(ch if ch.isascii() and (ch.isalnum() and ch != "_") else _escape_rune(ch) for ch in label)


def _escape_rune(ch: str) -> str:
    return "__" if ch == "_" else f"_{ord(ch):x}_"


def tagged(expr: str) -> str:
    """``expr`` with the auditor's tag as a trailing PromQL comment: the query log tells its queries apart.

    >>> tagged("up")
    'up\\n# metrics-auditor'
    """
    return f"{expr}\n{QUERY_TAG}"

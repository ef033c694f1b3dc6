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


def label(name: str) -> str:
    """A label name in a grouping (``by``/``without``) or matcher: bare, or quoted."""
    return name if is_legacy_label(name) else string(name)

"""Regular expressions taken from outside, matched as Prometheus matches them: RE2, in linear time.

    name = prometheus_regex("http_.*")        # a label matcher, a budgets `match:`, a relabel `regex`
    name.fullmatch("http_requests_total")    # True

Every regex the product takes from someone else (a query of the query log, a budgets file, a label
policy, a relabel rule) goes through here and nowhere else. Python's ``re`` backtracks: ``(\\w+)+Z``
against a long name takes exponential time while holding the GIL, which would freeze the daemon's
probes; Prometheus runs the same text through Go's RE2 in microseconds. RE2 (Google's binding) gives
the same syntax as Prometheus and a match time linear in the name, whatever the pattern.

Anchoring is Prometheus': ``^(?s:PATTERN)$`` (``.`` matches a newline too, as in Prometheus 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

MAX_PATTERN = 64 * 1024
"""Longer patterns are refused: RE2 compiles in time linear in the pattern, but a query log is anyone's."""
_MAX_MEM = 8 << 20
"""RE2's memory for one compiled pattern; a pattern needing more is refused (``pattern too large``)."""


def _options() -> Any:
    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.max_mem = _MAX_MEM
    return options


_OPTIONS = _options()


@dataclass(frozen=True, slots=True)
class PrometheusRegex:
    """A compiled pattern, anchored at both ends as Prometheus anchors label matchers and relabel regexes."""

    pattern: str
    _compiled: Any

    def fullmatch(self, text: str) -> bool:
        return self._compiled.fullmatch(text) is not None


def prometheus_regex(pattern: str) -> PrometheusRegex:
    """Compile ``pattern``; ``ValueError`` with RE2's reason when Prometheus would refuse it too.

    >>> prometheus_regex("node_.*").fullmatch("node_load1")
    True
    >>> prometheus_regex("node_").fullmatch("node_load1")
    False
    """
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regular expression of {len(pattern):,} characters: at most {MAX_PATTERN:,} are accepted")
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        raise ValueError(f"invalid regular expression {_shown(pattern)}: {_reason(exc)}") from None
    return PrometheusRegex(pattern, compiled)


def _reason(exc: Exception) -> str:
    message = exc.args[0] if exc.args else "rejected"
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def _shown(pattern: str) -> str:
    return repr(pattern) if len(pattern) <= 200 else repr(pattern[:200] + "...")

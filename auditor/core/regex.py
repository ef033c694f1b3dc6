"""Regular expressions taken from outside, matched as Prometheus matches them: RE2, in linear time.

    name = prometheus_regex("http_.*")        # a label matcher, a budgets `match:`, a relabel `regex`
    name.fullmatch("http_requests_total")    # True
    NameIndex(census_names).matching(name)   # every census name it matches, without trying them all

Every regex the product takes from someone else (a query of the query log, a budgets file, a label
policy, a relabel rule) goes through here and nowhere else. Python's ``re`` backtracks: ``(\\w+)+Z``
against a long name takes exponential time while holding the GIL, which would freeze the daemon's
probes; Prometheus runs the same text through Go's RE2 in microseconds. RE2 (Google's binding) gives
the same syntax as Prometheus and a match time linear in the name, whatever the pattern.

Anchoring is Prometheus': ``^(?s:PATTERN)$`` (``.`` matches a newline too, as in Prometheus 3).

The binding's Python wrapper (``re2.compile``) costs about 1.9 us a match for its ``re``-like API (match
objects, offsets re-counted in characters); its compiled ``_re2.RE2`` answers a whole-string match on
bytes in 0.8 us, and tells the range of strings any match lies in (``PossibleMatchRange``), so a
regex is tried only on the census names of that range (measured on 10,000 names, docs/benchmarks.md).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import re2
from re2 import _re2

MAX_PATTERN = 64 * 1024
"""Longer patterns are refused: RE2 compiles in time linear in the pattern, but a query log is anyone's."""
_MAX_MEM = 8 << 20
"""RE2's memory for one compiled pattern; a pattern needing more is refused (``pattern too large``)."""
_RANGE_PREFIX = 64
"""Bytes of a match's possible prefix RE2 works out for ``PossibleMatchRange``."""
_CHECK_EVERY = 1024


def _options() -> Any:
    options = re2.Options()
    options.dot_nl = True
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.max_mem = _MAX_MEM
    return options


_OPTIONS = _options()
_BOTH: Any = _re2.RE2.Anchor.ANCHOR_BOTH
_NO_MATCH = (-1, -1)


@dataclass(frozen=True, slots=True)
class PrometheusRegex:
    """A compiled pattern, anchored at both ends as Prometheus anchors label matchers and relabel regexes."""

    pattern: str
    _compiled: Any

    def fullmatch(self, text: str) -> bool:
        return self.fullmatch_bytes(text.encode("utf-8", "surrogatepass"))

    def fullmatch_bytes(self, data: bytes) -> bool:
        return bool(self._compiled.Match(_BOTH, data, 0, len(data))[0] != _NO_MATCH)

    def groups(self, text: str) -> list[str | None] | None:
        """The whole match and each group's text (None for a group that took no part); None when it does not
        match in full."""
        data = text.encode("utf-8", "surrogatepass")
        spans = self._compiled.Match(_BOTH, data, 0, len(data))
        if spans[0] == _NO_MATCH:
            return None
        return [None if s == _NO_MATCH else data[s[0] : s[1]].decode("utf-8", "surrogatepass") for s in spans]

    def group_names(self) -> dict[str, int]:
        return {_text(name): index for name, index in self._compiled.NamedCapturingGroups()}

    def bounds(self) -> tuple[bytes, bytes] | None:
        """(lowest, highest) of the byte strings a match can be; None when RE2 cannot tell (``.*`` first)."""
        ok, low, high = self._compiled.PossibleMatchRange(_RANGE_PREFIX)
        return (low, high) if ok else None


def prometheus_regex(pattern: str) -> PrometheusRegex:
    """Compile ``pattern``; ``ValueError`` with RE2's reason when Prometheus would refuse it too.

    >>> prometheus_regex("node_.*").fullmatch("node_load1")
    True
    >>> prometheus_regex("node_").fullmatch("node_load1")
    False
    """
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"regular expression of {len(pattern):,} characters: at most {MAX_PATTERN:,} are accepted")
    compiled = _re2.RE2(pattern.encode("utf-8", "surrogatepass"), _OPTIONS)
    if not compiled.ok():
        raise ValueError(f"invalid regular expression {_shown(pattern)}: {_text(compiled.error())}")
    return PrometheusRegex(pattern, compiled)


class NameIndex:
    """Names sorted as UTF-8 bytes (what RE2 compares): a regex is tried on its possible range only."""

    def __init__(self, names: Iterable[str]) -> None:
        pairs = sorted((name.encode("utf-8", "surrogatepass"), name) for name in set(names))
        self._keys = [key for key, _ in pairs]
        self._names = [name for _, name in pairs]

    def matching(self, regex: PrometheusRegex, expired: Callable[[], bool] = lambda: False) -> Iterator[str]:
        """The names ``regex`` matches in full; ``TimeoutError`` once ``expired()`` says so (looked at every
        1,024 names)."""
        bounds = regex.bounds()
        start = bisect.bisect_left(self._keys, bounds[0]) if bounds else 0
        end = bisect.bisect_right(self._keys, bounds[1]) if bounds else len(self._keys)
        for i in range(start, end):
            if (i - start) % _CHECK_EVERY == 0 and expired():
                raise TimeoutError("matching took longer than allowed")
            if regex.fullmatch_bytes(self._keys[i]):
                yield self._names[i]


def _text(message: Any) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def _shown(pattern: str) -> str:
    return repr(pattern) if len(pattern) <= 200 else repr(pattern[:200] + "...")

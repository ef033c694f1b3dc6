"""Classic histograms, and what converting each to a native histogram with custom buckets (NHCB) leaves.

    classic_families(census.metrics, types)     # ["http_request_duration_seconds", ...]
    Family("req_seconds", label_sets=3, buckets=5).series_after      # 3: one series per label set

A classic histogram ``m`` is the ``m_bucket`` (one series per label set and ``le``), ``m_sum`` and ``m_count``
series. Measured on a real Prometheus 3.5.3: a job with
``convert_classic_histograms_to_nhcb: true`` on a server with native histograms stores one series per label set
under the family's own name, so R label sets of B buckets (``le`` counted, ``+Inf`` included) go from
R x (B + 2) series to R.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from auditor.core.domain import ServerKind

SUFFIXES = ("_bucket", "_sum", "_count")


@dataclass(frozen=True, slots=True)
class Family:
    """One classic histogram family as one scrape job sends it."""

    metric: str
    label_sets: int
    """Distinct label sets (``le`` aside): the series of ``m_count``."""
    buckets: int
    """Distinct ``le`` values, ``+Inf`` included."""

    @property
    def series_now(self) -> int:
        return self.label_sets * (self.buckets + 2)

    @property
    def series_after(self) -> int:
        """One native histogram per label set."""
        return self.label_sets


@dataclass(frozen=True, slots=True)
class JobFamily:
    """A classic histogram family as one scrape job sends it, measured: what converting it or dropping the buckets
    that never fill would leave."""

    metric: str
    job: str
    label_sets: int
    buckets: int
    bucket_series: int
    """``m_bucket`` series: ``label_sets x buckets`` unless label sets differ in their buckets."""
    empty_buckets: tuple[str, ...] = ()
    """The ``le`` values (as stored: what a relabeling matches) whose bucket never filled over the window, in
    every label set; lowest first."""
    empty_series: int = 0
    """``m_bucket`` series of those buckets: what ``drop_buckets`` saves."""

    @property
    def series_now(self) -> int:
        return self.bucket_series + 2 * self.label_sets

    @property
    def series_after(self) -> int:
        return self.label_sets

    @property
    def saved(self) -> int:
        return self.series_now - self.series_after


@dataclass(frozen=True, slots=True)
class Inventory:
    """A cycle's histogram inventory: the server's support for the switch and the families it measured."""

    version: str
    support: NativeSupport
    families: tuple[JobFamily, ...]
    skipped: int = 0
    """Classic families past the bounds, not measured."""


def classic_families(names: Iterable[str], types: Mapping[str, str] | None = None) -> list[str]:
    """The classic histogram families among metric ``names``, sorted.

    With ``types`` (``/api/v1/metadata``: family -> type), a family is one of ``type: histogram`` whose
    ``_bucket`` series exist. Without it, or for a family it does not know, the shape decides: ``_bucket``,
    ``_sum`` and ``_count`` all present. A family the metadata calls something else (a summary's ``_sum`` and
    ``_count``, a counter named ``*_bucket``) is none.
    """
    present = set(names)
    found = set()
    for name in present:
        if not name.endswith("_bucket"):
            continue
        family = name[: -len("_bucket")]
        kind = (types or {}).get(family)
        if kind == "histogram" or (kind is None and {family + "_sum", family + "_count"} <= present):
            found.add(family)
    return sorted(found)


def empty_buckets(counts: Sequence[tuple[float, Sequence[float]]]) -> list[float]:
    """The ``le`` bounds whose bucket never fills: its count equals the next lower bucket's (0 for the lowest) at
    every sample.

    ``counts`` is ``[(le, [count at each sample, ...]), ...]`` for one label set, over the same samples. Dropping
    such a bucket drops whole series and loses no observation (``histogram_quantile`` interpolates within the
    next bucket instead). ``+Inf`` is never one: Prometheus needs it.
    """
    ordered = sorted(counts, key=lambda c: c[0])
    if not ordered:
        return []
    lowest, first = ordered[0]
    out = [lowest] if lowest != float("inf") and all(n == 0 for n in first) else []
    for (_, lower), (le, upper) in itertools.pairwise(ordered):
        if le != float("inf") and list(lower) == list(upper):
            out.append(le)
    return out


@dataclass(frozen=True, slots=True)
class NativeSupport:
    """Whether this server stores what the switch produces, and whether the switch exists on it."""

    native_histograms: bool | None
    """None when it cannot be told (VictoriaMetrics, or flags not readable)."""
    switch: bool
    """``convert_classic_histograms_to_nhcb`` is a scrape setting of this server (Prometheus 3)."""
    reason: str


def native_support(server: ServerKind, version: str, flags: Mapping[str, str] | None) -> NativeSupport:
    """From the server kind, its version and ``/api/v1/status/flags``.

    Measured: 3.5 and 2.53 report ``"enable-feature": "native-histograms"`` when started with it and ``""``
    without; 2.42 reports ``""``. Without the feature, a 3.5 job with the switch stores nothing of the histogram
    (no error anywhere), so the switch is never recommended there.
    """
    if server is ServerKind.VICTORIAMETRICS:
        return NativeSupport(
            None, False, "VictoriaMetrics: the Prometheus switch does not apply; what it stores is unknown"
        )
    major, minor = _major_minor(version)
    if major is not None and major < 3:
        return NativeSupport(None, False, f"Prometheus {version}: the switch needs Prometheus 3")
    if major is not None and (major, minor or 0) >= STABLE:
        return NativeSupport(None, True, f"Prometheus {version}: native histograms are stable from 3.8 and the feature "
                             "flag no longer tells whether a converted job stores them (not measured on this version): "
                             "switch one job and check that count(m{job=...}) equals its label sets")  # fmt: skip
    if flags is None:
        return NativeSupport(None, major is not None, "the server's flags could not be read")
    enabled = "native-histograms" in [f.strip() for f in flags.get("enable-feature", "").split(",")]
    if not enabled:
        return NativeSupport(False, True, "started without --enable-feature=native-histograms: the switch would store "
                             "nothing of a converted histogram")  # fmt: skip
    return NativeSupport(True, True, "native histograms are enabled (--enable-feature=native-histograms)")


STABLE = (3, 8)
"""From Prometheus 3.8 native histograms are stable; from 3.9 the feature flag is a no-op (its changelog)."""


def _major_minor(version: str) -> tuple[int | None, int | None]:
    parts = [p if p.isdigit() else "" for p in version.lstrip("v").split("+")[0].split(".")[:2]]
    numbers = [int(p) if p else None for p in parts] + [None, None]
    return numbers[0], numbers[1]

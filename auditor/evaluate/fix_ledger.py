"""How a fix moves through the ledger, one observation at a time (docs/fixes.md).

    fix = observe(fix, Observation(active=300, carrying=0, duplicates=0.0), at)   # proposed -> applied

The rules:

- **applied** once the label (or the metric) is gone, or the series fell to the prediction;
- then **verified** when the active series are within 10 % of the prediction, else **missed**;
- **regressed** when the label or the metric comes back;
- a ``convert_histogram`` lands once the classic series are gone; it is **harmful** at once when fewer native
  series than label sets are stored (the switch on a server without native histograms stores nothing);
- **harmful** when, once applied, the series fell below a prediction that said nothing merges (series were
  merged), the server's duplicate-sample counter rose between the cycle it landed and the next (samples
  were rejected), or a loaded rule that reads the metric fails; and a fix at the source that landed while the
  metric's targets still send as many samples: a relabeling removed the label, merging the series.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from auditor.core.fixes import TOLERANCE, FixState, FixSummary, LedgerFix, Observation
from auditor.core.remedies import BY_JOB, Action

_LANDED = frozenset({FixState.APPLIED, FixState.VERIFIED, FixState.MISSED})


def observe(fix: LedgerFix, seen: Observation, at: datetime) -> LedgerFix:
    """The fix after one more observation."""
    measured = replace(fix, observed_at=at, measured_series=seen.active)
    if fix.state is FixState.HARMFUL:
        return _moved(measured, FixState.REGRESSED, at) if _back(fix, seen) else measured
    if fix.state in (FixState.PROPOSED, FixState.REGRESSED):
        if not _gone(fix, seen):
            # the last figures before it lands: active series, as the measurement after it will be
            return replace(measured, scraped_before=seen.scraped, series_before=_before(fix, seen))
        landed = replace(measured, applied_at=at, duplicates_at_apply=seen.duplicates)
        harmful = _relabeled(fix, seen) or (fix.action in BY_JOB and _short(fix, seen))
        return _moved(landed, FixState.HARMFUL if harmful else FixState.APPLIED, at)
    if _back(fix, seen):
        return _moved(measured, FixState.REGRESSED, at)
    if _harmful(fix, seen):
        return _moved(measured, FixState.HARMFUL, at)
    return _moved(measured, FixState.VERIFIED if _within(fix, seen.active) else FixState.MISSED, at)


def _moved(fix: LedgerFix, state: FixState, at: datetime) -> LedgerFix:
    return fix if fix.state is state else replace(fix, state=state, state_at=at)


def _before(fix: LedgerFix, seen: Observation) -> int:
    """Series before it lands: a conversion's classic ones (in the dual period the native ones are there too)."""
    if fix.action is Action.CONVERT_HISTOGRAM:
        return seen.carrying or fix.series_before
    return seen.active or fix.series_before


def _gone(fix: LedgerFix, seen: Observation) -> bool:
    """The remedy landed: the metric or the label is gone, or the series fell to what was predicted; a conversion
    once the classic series are gone while the job's targets still send samples (even if nothing is stored of
    them: the switch on a server without native histograms)."""
    if fix.action is Action.DROP_METRIC:
        return seen.active == 0
    if fix.action is Action.CONVERT_HISTOGRAM:
        return seen.carrying == 0 and (seen.active > 0 or bool(seen.scraped))
    if fix.action is Action.DROP_BUCKETS:  # a few buckets of many series: within a tolerance is not landed yet
        return 0 < seen.active <= (fix.predicted_series or 0)
    if seen.active == 0:
        return False  # the whole metric is gone (dropped, or its targets down): not this label's fix
    if seen.carrying == 0:
        return True
    lower = fix.predicted_series is not None and fix.predicted_series < fix.series_before
    return lower and fix.predicted_series is not None and seen.active <= fix.predicted_series * (1 + TOLERANCE)


def _back(fix: LedgerFix, seen: Observation) -> bool:
    if fix.action is Action.DROP_METRIC:
        return seen.active > 0
    return bool(seen.carrying)


def _harmful(fix: LedgerFix, seen: Observation) -> bool:
    """Merged series, or samples rejected in the cycle after it landed (the counter is the server's, not the job's:
    later rises are anyone's)."""
    if seen.rule_failing:
        return True
    # A label removal is only ever printed when it merges nothing, a conversion keeps one series per label set and
    # a bucket drop only the buckets named: fewer series than predicted are merged or lost ones.
    if fix.action in (Action.DROP_LABEL, *BY_JOB) and _short(fix, seen):
        return True
    before, now = fix.duplicates_at_apply, seen.duplicates
    return fix.state is FixState.APPLIED and before is not None and now is not None and now > before


def _short(fix: LedgerFix, seen: Observation) -> bool:
    predicted = fix.predicted_series
    return predicted is not None and seen.active < predicted * (1 - TOLERANCE)


def _relabeled(fix: LedgerFix, seen: Observation) -> bool:
    """A fix at the source whose series fell while its targets still send as many samples: a relabeling removed the
    label instead, and merged the series (relabeling does not aggregate)."""
    if fix.action is not Action.FIX_AT_SOURCE or fix.scraped_before is None or seen.scraped is None:
        return False
    fell = fix.series_before - seen.active
    return fell > 0 and fix.scraped_before - seen.scraped < fell / 2


def _within(fix: LedgerFix, active: int) -> bool:
    if fix.predicted_series is None:
        return False
    return abs(active - fix.predicted_series) <= TOLERANCE * max(fix.predicted_series, 1)


def summary(fixes: Iterable[LedgerFix]) -> FixSummary:
    fixes = list(fixes)
    states = Counter(f.state for f in fixes)
    harmful = tuple(sorted((f.metric, f.label) for f in fixes if f.state is FixState.HARMFUL))
    return FixSummary({s: states.get(s, 0) for s in FixState}, sum(f.series_saved for f in fixes), harmful)


def landed(fix: LedgerFix) -> bool:
    return fix.state in _LANDED

"""The fix ledger: states moved by observations, and the ledger in the store on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from auditor.core.fixes import FixState, LedgerFix, Observation
from auditor.core.remedies import Action, Proof, Remedy
from auditor.evaluate.fix_ledger import observe, summary
from auditor.store import Store

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def fix(action: Action, before: int, predicted: int | None, label: str = "region_code") -> LedgerFix:
    return LedgerFix(1, "prod", "user_sessions", label, action, FixState.PROPOSED, True, before, predicted, "p",
                     T0, T0)  # fmt: skip


def walk(f: LedgerFix, *seen: Observation) -> list[FixState]:
    states = []
    for i, one in enumerate(seen, start=1):
        f = observe(f, one, T0 + timedelta(minutes=5 * i))
        states.append(f.state)
    return states


def test_a_label_removal_that_merges_nothing_lands_and_is_verified_then_regresses() -> None:
    safe = fix(Action.DROP_LABEL, 300, 300)
    assert walk(
        safe,
        Observation(300, 300, 0.0),   # not applied yet
        Observation(300, 0, 0.0),     # the label is gone: applied
        Observation(300, 0, 0.0),     # every series kept: verified
        Observation(300, 300, 0.0),   # the label is back: regressed
        Observation(300, 0, 0.0),     # gone again: applied
    ) == [FixState.PROPOSED, FixState.APPLIED, FixState.VERIFIED, FixState.REGRESSED, FixState.APPLIED]  # fmt: skip


def test_series_lost_under_a_prediction_that_nothing_merges_is_harm() -> None:
    safe = fix(Action.DROP_LABEL, 300, 300)
    assert walk(safe, Observation(300, 0, 0.0), Observation(3, 0, 0.0)) == [FixState.APPLIED, FixState.HARMFUL]
    assert walk(safe, Observation(300, 0, 0.0), Observation(300, 0, 5.0)) == [FixState.APPLIED, FixState.HARMFUL], (
        "samples rejected in the cycle after it landed"
    )
    assert walk(safe, Observation(300, 0, 0.0), Observation(300, 0, 0.0, rule_failing=True))[-1] is FixState.HARMFUL
    harmed = walk(safe, Observation(300, 0, 0.0), Observation(3, 0, 0.0), Observation(300, 300, 0.0))
    assert harmed[-1] is FixState.REGRESSED, "reverted: the alert clears"


def test_a_fix_at_the_source_is_verified_within_ten_percent_or_missed() -> None:
    at_source = fix(Action.FIX_AT_SOURCE, 300, 3, label="user_id")
    assert walk(at_source, Observation(300, 300, None), Observation(3, 0, None), Observation(3, 0, None)) == [
        FixState.PROPOSED, FixState.APPLIED, FixState.VERIFIED,
    ]  # fmt: skip
    assert walk(at_source, Observation(3, 0, None), Observation(40, 0, None))[-1] is FixState.MISSED
    assert walk(at_source, Observation(0, 0, None)) == [FixState.PROPOSED], "the metric is gone, not the label"


def test_a_fix_at_the_source_done_by_a_relabeling_instead_is_harm() -> None:
    """The series fell to the prediction, but the targets still send every sample: a relabeling merged them."""
    at_source = fix(Action.FIX_AT_SOURCE, 300, 3, label="user_id")
    relabeled = walk(at_source, Observation(300, 300, None, scraped=320), Observation(3, 0, None, scraped=320))
    assert relabeled == [FixState.PROPOSED, FixState.HARMFUL]
    fixed = walk(at_source, Observation(300, 300, None, scraped=320), Observation(3, 0, None, scraped=23))
    assert fixed == [FixState.PROPOSED, FixState.APPLIED], "the source sends 297 samples fewer"


def test_a_dropped_metric_is_applied_when_it_is_gone() -> None:
    dropped = fix(Action.DROP_METRIC, 5, 0, label="")
    states = walk(dropped, Observation(5, None, None), Observation(0, None, None), Observation(0, None, None))
    assert states == [FixState.PROPOSED, FixState.APPLIED, FixState.VERIFIED]
    f = dropped
    for one in (Observation(0, None, None), Observation(0, None, None)):
        f = observe(f, one, T0)
    assert (f.series_saved, f.error_ratio) == (5, 0.0)
    assert summary([f]).series_saved == 5


def remedy(metric: str, label: str | None, action: Action, before: int, predicted: int) -> Remedy:
    return Remedy(action, metric, label, True, Proof(before, predicted, text="count(m) = 300"), before, predicted)


def test_the_ledger_records_a_remedy_once_and_keeps_its_observations(engine: Engine) -> None:
    store = Store(engine)
    first = [remedy("user_sessions", "region_code", Action.DROP_LABEL, 300, 300),
             remedy("never_read", None, Action.DROP_METRIC, 5, 0)]  # fmt: skip
    store.fixes.record("prod", "u", first, T0)
    again = [remedy("user_sessions", "region_code", Action.DROP_LABEL, 310, 310), first[1]]
    store.fixes.record("prod", "u", again, T0 + timedelta(minutes=5))  # printed again: recorded once
    ledger = store.fixes.all("prod")
    assert ledger[0].predicted_series == 310, "the newest print of a proposed fix"
    assert ledger[0].series_before == 300, "before is measured by the observations, not reprinted"
    assert [(f.metric, f.label, f.action, f.state, f.proposed_at) for f in ledger] == [
        ("user_sessions", "region_code", Action.DROP_LABEL, FixState.PROPOSED, T0),
        ("never_read", "", Action.DROP_METRIC, FixState.PROPOSED, T0),
    ]
    seen = observe(ledger[1], Observation(0, None, None), T0 + timedelta(minutes=10))
    store.fixes.save([seen])
    due = store.fixes.due("prod", limit=1)
    assert [f.metric for f in due] == ["user_sessions"], "never observed first"
    [stored] = [f for f in store.fixes.all("prod") if f.metric == "never_read"]
    assert (stored.state, stored.applied_at, stored.measured_series) == (
        FixState.APPLIED, T0 + timedelta(minutes=10), 0,
    )  # fmt: skip
    assert summary(store.fixes.all("prod")).states[FixState.APPLIED] == 1

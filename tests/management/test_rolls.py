"""Rolls: the target expiry, re-centring by strikes or deltas with clear failures, and lineage P&L."""

from __future__ import annotations

import datetime as dt

import pytest

from hybrid.management.management_rules import RollRules
from hybrid.management.rolls import Lineage, LineageMember, RollError, lineage_pnl, roll_expiries, roll_legs
from hybrid.options.chain import ChainError, OptionChain
from hybrid.options.instruments import make_option
from hybrid.options.legs import Leg

TODAY = dt.date(2024, 7, 12)
NEAR = dt.date(2024, 7, 19)  # 7 DTE
LISTED = (
    NEAR,
    dt.date(2024, 7, 26),
    dt.date(2024, 8, 2),
    dt.date(2024, 8, 16),
    dt.date(2024, 8, 23),
    dt.date(2024, 9, 20),
    dt.date(2024, 10, 18),
)


def chain(expiries=LISTED, missing=()) -> OptionChain:
    """Strikes 400..600 every 5 at every expiry, except the (right, strike, expiry) in ``missing``."""
    contracts = [
        make_option("SPY", e, right, k)
        for e in expiries
        for right in ("call", "put")
        for k in range(400, 605, 5)
        if (right, float(k), e) not in missing
    ]
    return OptionChain.from_instruments(contracts, "SPY")


def delta_around(spot: float):
    """A stand-in model: call delta 0.5 at the spot, falling 0.01 per point; put delta = call - 1."""

    def delta(contract) -> float:
        call = min(1.0, max(0.0, 0.5 - (float(contract.strike_price) - spot) / 100))
        return call if contract.option_kind.name == "CALL" else call - 1.0

    return delta


def condor(expiry=NEAR):
    return (
        Leg("put", 470.0, expiry, 1),
        Leg("put", 480.0, expiry, -1),
        Leg("call", 520.0, expiry, -1),
        Leg("call", 530.0, expiry, 1),
    )


def test_the_new_expiry_is_the_first_listed_inside_the_dte_window():
    assert roll_expiries(condor(), chain(), TODAY, RollRules()) == {NEAR: dt.date(2024, 8, 16)}  # 35 DTE
    window = RollRules(target_dte_min=60, target_dte_max=70)
    assert roll_expiries(condor(), chain(), TODAY, window) == {NEAR: dt.date(2024, 9, 20)}  # 70 DTE


def test_no_expiry_in_the_window_is_an_error_naming_the_nearest():
    sparse = chain(expiries=(NEAR, dt.date(2024, 7, 26), dt.date(2024, 10, 18)))
    with pytest.raises(
        ChainError,
        match=r"no expiry 30-45 DTE from 2024-07-12; nearest listed: 2024-07-26 \(14 DTE\), "
        r"2024-10-18 \(98 DTE\)",
    ):
        roll_expiries(condor(), sparse, TODAY, RollRules())


def test_a_window_that_does_not_move_the_group_later_is_refused():
    with pytest.raises(RollError, match="not later than the group's expiry 2024-08-16"):
        roll_expiries(condor(dt.date(2024, 8, 16)), chain(), TODAY, RollRules())


def test_same_strikes_keeps_strikes_signs_and_ratios_at_the_new_expiry():
    assert roll_legs(condor(), chain(), TODAY, RollRules()) == condor(dt.date(2024, 8, 16))


def test_same_strikes_fails_naming_the_nearest_listed_strikes():
    gappy = chain(missing=[("call", 520.0, dt.date(2024, 8, 16))])
    message = "strike 520 is not listed for calls expiring 2024-08-16; nearest listed: 515, 525"
    with pytest.raises(ChainError, match=message):
        roll_legs(condor(), gappy, TODAY, RollRules())


def test_same_deltas_re_centres_on_the_entry_deltas():
    entry = {0: -0.10, 1: -0.20, 2: 0.20, 3: 0.10}  # the deltas the legs had when the condor was opened
    rolled = roll_legs(condor(), chain(), TODAY, RollRules(recentre="same_deltas"), entry, delta_around(540.0))
    # |delta| 0.10 / 0.20 sit 40 / 30 points from the spot of 540
    assert [leg.strike for leg in rolled] == [500.0, 510.0, 570.0, 580.0]
    assert [leg.quantity for leg in rolled] == [1, -1, -1, 1]
    assert {leg.expiry for leg in rolled} == {dt.date(2024, 8, 16)}


def test_same_deltas_needs_every_option_legs_entry_delta():
    with pytest.raises(RollError, match="entry_deltas: same_deltas needs the entry delta of leg 2"):
        roll_legs(condor(), chain(), TODAY, RollRules(recentre="same_deltas"), {0: -0.1, 1: -0.2}, delta_around(500))


def test_re_centring_that_merges_two_legs_is_refused():
    entry = {0: -0.10, 1: -0.101, 2: 0.20, 3: 0.10}
    with pytest.raises(RollError, match="puts the 470 and 480 puts on one contract"):
        roll_legs(condor(), chain(), TODAY, RollRules(recentre="same_deltas"), entry, delta_around(500))


def test_a_calendar_keeps_its_gap_and_its_underlying_leg():
    far = dt.date(2024, 8, 16)
    legs = (Leg("call", 500.0, NEAR, -1), Leg("call", 500.0, far, 1), Leg("underlying", None, None, 100, price=500.0))
    rolled = roll_legs(legs, chain(), TODAY, RollRules())
    # near 2024-07-19 -> 2024-08-16 (28 days later); far 2024-08-16 + 28 = 2024-09-13 -> nearest listed 2024-09-20
    assert [leg.expiry for leg in rolled] == [dt.date(2024, 8, 16), dt.date(2024, 9, 20), None]
    assert rolled[2] == Leg("underlying", None, None, 100)


def test_a_group_without_options_cannot_roll():
    with pytest.raises(RollError, match="nothing to roll"):
        roll_legs((Leg("underlying", None, None, 100),), chain(), TODAY, RollRules())


def test_lineage_links_generations_to_one_root_and_sums_their_pnl():
    root = Lineage.root("g1")
    child = root.child("g2")
    grandchild = child.child("g3")
    assert grandchild == Lineage("g3", "g1", "g2", 2)
    with pytest.raises(ValueError, match="group_id: a roll needs a new group id"):
        child.child("g2")
    members = [LineageMember(root, -120.0), LineageMember(child, 45.5), LineageMember(grandchild, None)]
    assert lineage_pnl(members) == pytest.approx(-74.5)
    assert lineage_pnl(members, open_unrealised=30.0) == pytest.approx(-44.5)

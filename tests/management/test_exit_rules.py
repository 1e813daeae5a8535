"""Exit rules: P&L % on trusted mid marks, graduated profit taking, the debounced stop, the roll trigger."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hybrid.management.exit_rules import evaluate, tranche_units
from hybrid.management.management_rules import DEFAULT_TRANCHES, ManagementRules, ProfitTranche, RollRules
from hybrid.management.state import ManagementState
from hybrid.options.legs import Leg
from hybrid.valuation.marks import LegQuote, MarkedGroup, pnl_pct, untrusted_reason

EXPIRY = dt.date(2024, 8, 16)
NOW = dt.datetime(2024, 7, 1, 15, 0, tzinfo=dt.UTC)  # 46 days before EXPIRY
RULES = ManagementRules()
# a bull put spread sold for a 1.00 credit: short 450 put, long 445 put
CREDIT_LEGS = (Leg("put", 450.0, EXPIRY, -1), Leg("put", 445.0, EXPIRY, 1))


def credit_spread(value: float, units: int = 10, open_units: int | None = None, **kw) -> MarkedGroup:
    """The credit spread when buying it back costs ``value`` per share (short leg value+0.50, long 0.50)."""
    short, long = value + 0.50, 0.50
    quotes = (LegQuote(short - 0.01, short + 0.01), LegQuote(long - 0.01, long + 0.01))
    return MarkedGroup(
        "g1", CREDIT_LEGS, kw.pop("quotes", quotes), -1.0, units, units if open_units is None else open_units, **kw
    )


def credit_at(pct: float, **kw) -> MarkedGroup:
    """The credit spread marked at ``pct`` percent P&L (a credit can lose more than 100%)."""
    return credit_spread(1.0 - pct / 100, **kw)


def debit_at(pct: float, units: int = 10, open_units: int | None = None) -> MarkedGroup:
    """A call bought for 1.00 marked at ``pct`` percent P&L (a debit can gain more than 100%)."""
    mid = 1.0 + pct / 100
    return MarkedGroup(
        "g2",
        (Leg("call", 500.0, EXPIRY, 1),),
        (LegQuote(mid - 0.01, mid + 0.01),),
        1.0,
        units,
        units if open_units is None else open_units,
    )


def run(snapshots, state=None, rules=RULES, now=NOW):
    state = state or ManagementState()
    decisions = []
    for snapshot in snapshots:
        decision = evaluate(snapshot, state, rules, now)
        decisions.append(decision)
        state = decision.state
    return decisions


def test_pnl_pct_of_a_credit_and_of_a_debit_on_mid_marks():
    assert pnl_pct(credit_spread(0.50)) == pytest.approx(50.0)  # bought back at half the credit
    assert pnl_pct(credit_spread(3.00)) == pytest.approx(-200.0)
    call = (Leg("call", 500.0, EXPIRY, 1),)
    debit = MarkedGroup("g2", call, (LegQuote(3.90, 4.10),), 2.50, 1, 1)  # paid 2.50, now 4.00 mid
    assert pnl_pct(debit) == pytest.approx(60.0)
    # a covered call: 100 shares are 1 share of underlying per share of the structure
    covered = MarkedGroup(
        "g3",
        (Leg("call", 500.0, EXPIRY, -1), Leg("underlying", None, None, 100)),
        (LegQuote(1.99, 2.01), LegQuote(489.99, 490.01)),
        487.0,
        1,
        1,
    )  # bought for 487.00 a share (stock less call); now 490 - 2 = 488
    assert pnl_pct(covered) == pytest.approx(100 * (488 - 487) / 487)


@pytest.mark.parametrize(
    ("quote", "words"),
    [
        (LegQuote(None, 1.0), "missing bid"),
        (LegQuote(1.0, None), "missing ask"),
        (LegQuote(1.2, 1.0), "crossed"),
        (LegQuote(0.0, 0.0), "no market"),
        (LegQuote(1.00, 2.00), "too wide"),
    ],
)
def test_untrusted_markets_are_named(quote, words):
    assert words in untrusted_reason(quote, RULES.max_spread_ratio, RULES.max_spread_abs)


def test_a_cheap_option_a_nickel_wide_is_trusted_though_relatively_wide():
    assert untrusted_reason(LegQuote(0.05, 0.10), RULES.max_spread_ratio, RULES.max_spread_abs) is None
    assert untrusted_reason(LegQuote(0.00, 0.05), RULES.max_spread_ratio, RULES.max_spread_abs) is None


def test_an_untrusted_leg_gives_skip_naming_the_leg():
    wide = (LegQuote(0.5, 3.5), LegQuote(0.49, 0.51))
    decision = evaluate(credit_spread(1.0, quotes=wide), ManagementState(), RULES, NOW)
    assert decision.kind == "skip"
    assert "450 put 2024-08-16" in decision.reason and "too wide" in decision.reason


def test_graduated_profit_taking_closes_3_5_2_of_10_units_each_level_once():
    checks = [debit_at(60), debit_at(70, open_units=7), debit_at(120, open_units=7), debit_at(250, open_units=2)]
    decisions = run(checks)
    assert [(d.kind, d.units, d.levels) for d in decisions] == [
        ("close_units", 3, (1,)),
        ("none", 0, ()),
        ("close_units", 5, (2,)),
        ("close_units", 2, (3,)),
    ]
    assert decisions[-1].state.exit_requested == "profit"
    assert run([debit_at(300, open_units=2)], state=decisions[-1].state)[0].kind == "none"


def test_levels_passed_in_one_check_are_taken_together():
    decision = evaluate(debit_at(150), ManagementState(), RULES, NOW)
    assert (decision.kind, decision.units, decision.levels) == ("close_units", 8, (1, 2))
    assert decision.state.fired_levels == (1, 2)


def test_a_one_unit_group_closes_whole_at_the_first_level():
    decision = evaluate(debit_at(55, units=1), ManagementState(), RULES, NOW)
    assert (decision.kind, decision.units) == ("close_units", 1)
    assert decision.state.exit_requested == "profit"


@pytest.mark.parametrize(("units", "expected"), [(10, [3, 5, 2]), (3, [1, 1, 1]), (2, [1, 1, 0]), (7, [2, 3, 2])])
def test_tranche_sizes_by_the_documented_rounding(units, expected):
    assert _tranche_sequence(DEFAULT_TRANCHES, units) == expected


def _tranche_sequence(tranches, units):
    open_units, sizes = units, []
    for level in range(1, len(tranches) + 1):
        size = tranche_units(tranches, level, units, open_units) if open_units else 0
        sizes.append(size)
        open_units -= size
    return sizes


@st.composite
def tranche_sets(draw):
    count = draw(st.integers(1, 5))
    weights = draw(st.lists(st.integers(1, 20), min_size=count, max_size=count))
    levels = sorted(draw(st.sets(st.integers(1, 1000), min_size=count, max_size=count)))
    return tuple(ProfitTranche(at_pct=level, fraction=w / sum(weights)) for level, w in zip(levels, weights))


@settings(max_examples=200, deadline=None)
@given(tranches=tranche_sets(), units=st.integers(1, 500))
def test_tranches_are_whole_units_adding_up_to_all_of_them(tranches, units):
    rules = ManagementRules(profit_tranches=tranches)  # the generated set is a valid config
    sizes = _tranche_sequence(rules.profit_tranches, units)
    assert sum(sizes) == units
    first_empty = sizes.index(0) if 0 in sizes else len(sizes)
    assert all(size >= 1 for size in sizes[:first_empty]) and not any(sizes[first_empty:])


def test_stop_loss_is_debounced_over_two_consecutive_checks():
    decisions = run([credit_at(-250), credit_at(-260)])
    assert [d.kind for d in decisions] == ["none", "close_all"]
    assert decisions[0].state.stop_count == 1 and "beyond the stop: check 1 of 2" in decisions[0].reason
    assert decisions[1].units == 10 and decisions[1].state.exit_requested == "stop_loss"
    assert "stop loss" in decisions[1].reason


def test_a_check_back_inside_resets_the_stop_count():
    decisions = run([credit_at(-250), credit_at(-100), credit_at(-250)])
    assert [d.kind for d in decisions] == ["none", "none", "none"]
    assert [d.state.stop_count for d in decisions] == [1, 0, 1]


def test_an_untrusted_mark_neither_counts_nor_resets_the_stop():
    bad = credit_spread(3.5, quotes=(LegQuote(None, 4.0), LegQuote(0.49, 0.51)))
    decisions = run([credit_at(-250), bad, bad, credit_at(-250)])
    assert [d.kind for d in decisions] == ["none", "skip", "skip", "close_all"]
    assert [d.state.stop_count for d in decisions] == [1, 1, 1, 2]


def test_a_custom_rule_set_with_one_confirmation_stops_at_once_and_disabled_stop_never():
    assert evaluate(credit_at(-210), ManagementState(), ManagementRules(stop_confirmations=1), NOW).kind == "close_all"
    no_stop = ManagementState(rules=ManagementRules(stop_loss_pct=None))
    assert [d.kind for d in run([credit_at(-900)] * 3, state=no_stop)] == ["none"] * 3


def test_paused_groups_and_requested_exits_are_left_alone():
    assert evaluate(credit_at(-900), ManagementState(paused=True), RULES, NOW).reason.startswith("management paused")
    assert evaluate(debit_at(300), ManagementState(exit_requested="roll"), RULES, NOW).kind == "none"
    assert evaluate(debit_at(300, open_units=0), ManagementState(), RULES, NOW).reason == "no open units"


def test_roll_below_the_dte_threshold_only():
    seven_days = dt.datetime(2024, 8, 9, 15, 0, tzinfo=dt.UTC)
    six_days = dt.datetime(2024, 8, 10, 15, 0, tzinfo=dt.UTC)
    assert evaluate(debit_at(10), ManagementState(), RULES, seven_days).kind == "none"
    decision = evaluate(debit_at(10), ManagementState(), RULES, six_days)
    assert (decision.kind, decision.units, decision.state.exit_requested) == ("roll", 10, "roll")
    assert "6 days" in decision.reason
    assert evaluate(debit_at(10), ManagementState(), ManagementRules(roll=None), six_days).kind == "none"


def test_dte_is_counted_in_new_york_dates():
    # 2024-08-10 01:00 UTC is still 2024-08-09 (7 DTE) in New York
    late_evening = dt.datetime(2024, 8, 10, 1, 0, tzinfo=dt.UTC)
    assert evaluate(debit_at(10), ManagementState(), RULES, late_evening).kind == "none"


def test_a_due_roll_goes_ahead_on_untrusted_marks_and_profit_comes_before_roll():
    six_days = dt.datetime(2024, 8, 10, 15, 0, tzinfo=dt.UTC)
    bad = credit_spread(0.5, quotes=(LegQuote(None, 1.0), LegQuote(0.49, 0.51)))
    assert evaluate(bad, ManagementState(), RULES, six_days).kind == "roll"
    assert evaluate(debit_at(60), ManagementState(), RULES, six_days).kind == "close_units"


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        evaluate(debit_at(10), ManagementState(), RULES, dt.datetime(2024, 7, 1, 15, 0))


def test_state_round_trips_through_json_with_custom_rules():
    state = ManagementState(
        fired_levels=(1,),
        stop_count=1,
        paused=True,
        exit_requested="profit",
        rules=ManagementRules(stop_loss_pct=-150.0, roll=RollRules(below_dte=5, recentre="same_deltas")),
    )
    assert ManagementState.from_json(state.to_json()) == state


@pytest.mark.parametrize(
    ("config", "loc", "words"),
    [
        ({"profit_tranches": [{"at_pct": 100, "fraction": 0.5}, {"at_pct": 50, "fraction": 0.5}]}, (), "ascending"),
        ({"profit_tranches": [{"at_pct": 50, "fraction": 0.3}, {"at_pct": 100, "fraction": 0.5}]}, (), "add up to 1"),
        ({"profit_tranches": [{"at_pct": 50, "fraction": 0}]}, ("profit_tranches", 0, "fraction"), "greater than 0"),
        ({"profit_tranches": [{"at_pct": -5, "fraction": 1}]}, ("profit_tranches", 0, "at_pct"), "greater than 0"),
        ({"stop_loss_pct": 50}, ("stop_loss_pct",), "less than 0"),
        ({"stop_confirmations": 0}, ("stop_confirmations",), "greater than or equal to 1"),
        ({"roll": {"target_dte_min": 45, "target_dte_max": 30}}, ("roll",), "target_dte_max"),
        ({"roll": {"below_dte": 30, "target_dte_min": 21}}, ("roll",), "below_dte"),
        ({"roll": {"recentre": "nearest"}}, ("roll", "recentre"), "same_strikes"),
        ({"stop_loss": -100}, ("stop_loss",), "Extra inputs"),
    ],
)
def test_rules_config_errors_name_the_field(config, loc, words):
    with pytest.raises(ValidationError) as caught:
        ManagementRules.model_validate(config)
    errors = caught.value.errors()
    assert len(errors) == 1, errors
    assert errors[0]["loc"] == loc and words in errors[0]["msg"], errors[0]

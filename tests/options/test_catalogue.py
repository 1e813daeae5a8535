"""The catalogue against the spec: every structure's parameters, legs, signs, ratios and rules.

The expected legs and validity predicates below are written from the spec's table (and, for the
structures beyond LEAN, from the catalogue's documented table), independently of the catalogue's
own leg templates and rule strings.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from functools import reduce

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hybrid.options.catalogue import ALIASES, STRATEGIES, StrategyError, build, get_strategy
from hybrid.options.legs import Leg

E1, E2, E3 = dt.date(2024, 6, 21), dt.date(2024, 7, 19), dt.date(2024, 8, 16)
M = 100


def C(strike: float, quantity: int, expiry: dt.date = E1) -> Leg:
    return Leg("call", strike, expiry, quantity)


def P(strike: float, quantity: int, expiry: dt.date = E1) -> Leg:
    return Leg("put", strike, expiry, quantity)


def U(quantity: int) -> Leg:
    return Leg("underlying", None, None, quantity)


def negate(legs: list[Leg]) -> list[Leg]:
    return [Leg(leg.kind, leg.strike, leg.expiry, -leg.quantity) for leg in legs]


ONE = ("expiration",)
NEAR_FAR = ("near_expiration", "far_expiration")
HML = ("higher_strike", "middle_strike", "lower_strike")
LMH = ("lower_strike", "middle_strike", "higher_strike")
IC = ("long_put_strike", "short_put_strike", "short_call_strike", "long_call_strike")
SIC = ("short_put_strike", "long_put_strike", "long_call_strike", "short_call_strike")
CONDOR = ("lower_strike", "lower_middle_strike", "upper_middle_strike", "higher_strike")

# name: (parameters, strikes, expiries, expected legs) -- LEAN's 41, in the spec's order.
LEAN = {
    "covered_call": (("strike", *ONE), (100,), (E1,), [C(100, -1), U(M)]),
    "protective_call": (("strike", *ONE), (100,), (E1,), [C(100, 1), U(-M)]),
    "covered_put": (("strike", *ONE), (100,), (E1,), [P(100, -1), U(-M)]),
    "protective_put": (("strike", *ONE), (100,), (E1,), [P(100, 1), U(M)]),
    "protective_collar": (("call_strike", "put_strike", *ONE), (110, 95), (E1,), [C(110, -1), P(95, 1), U(M)]),
    "conversion": (("strike", *ONE), (100,), (E1,), [C(100, -1), P(100, 1), U(M)]),
    "reverse_conversion": (("strike", *ONE), (100,), (E1,), [C(100, 1), P(100, -1), U(-M)]),
    "naked_call": (("strike", *ONE), (100,), (E1,), [C(100, -1)]),
    "naked_put": (("strike", *ONE), (100,), (E1,), [P(100, -1)]),
    "bull_call_spread": (("leg1_strike", "leg2_strike", *ONE), (100, 105), (E1,), [C(100, 1), C(105, -1)]),
    "bear_call_spread": (("leg1_strike", "leg2_strike", *ONE), (100, 105), (E1,), [C(100, -1), C(105, 1)]),
    "bear_put_spread": (("leg1_strike", "leg2_strike", *ONE), (105, 100), (E1,), [P(105, 1), P(100, -1)]),
    "bull_put_spread": (("leg1_strike", "leg2_strike", *ONE), (105, 100), (E1,), [P(105, -1), P(100, 1)]),
    "straddle": (("strike", *ONE), (100,), (E1,), [C(100, 1), P(100, 1)]),
    "short_straddle": (("strike", *ONE), (100,), (E1,), [C(100, -1), P(100, -1)]),
    "strangle": (("call_strike", "put_strike", *ONE), (110, 95), (E1,), [C(110, 1), P(95, 1)]),
    "short_strangle": (("call_strike", "put_strike", *ONE), (110, 95), (E1,), [C(110, -1), P(95, -1)]),
    "call_butterfly": ((*HML, *ONE), (110, 105, 100), (E1,), [C(110, 1), C(105, -2), C(100, 1)]),
    "short_butterfly_call": ((*HML, *ONE), (110, 105, 100), (E1,), [C(110, -1), C(105, 2), C(100, -1)]),
    "put_butterfly": ((*HML, *ONE), (110, 105, 100), (E1,), [P(110, 1), P(105, -2), P(100, 1)]),
    "short_butterfly_put": ((*HML, *ONE), (110, 105, 100), (E1,), [P(110, -1), P(105, 2), P(100, -1)]),
    "call_calendar_spread": (("strike", *NEAR_FAR), (100,), (E1, E2), [C(100, -1, E1), C(100, 1, E2)]),
    "short_call_calendar_spread": (("strike", *NEAR_FAR), (100,), (E1, E2), [C(100, 1, E1), C(100, -1, E2)]),
    "put_calendar_spread": (("strike", *NEAR_FAR), (100,), (E1, E2), [P(100, -1, E1), P(100, 1, E2)]),
    "short_put_calendar_spread": (("strike", *NEAR_FAR), (100,), (E1, E2), [P(100, 1, E1), P(100, -1, E2)]),
    "iron_condor": ((*IC, *ONE), (95, 100, 110, 115), (E1,), [P(95, 1), P(100, -1), C(110, -1), C(115, 1)]),
    "short_iron_condor": ((*SIC, *ONE), (95, 100, 110, 115), (E1,), [P(95, -1), P(100, 1), C(110, 1), C(115, -1)]),
    "iron_butterfly": (
        ("otm_put_strike", "atm_strike", "otm_call_strike", *ONE),
        (95, 105, 115),
        (E1,),
        [P(95, 1), P(105, -1), C(105, -1), C(115, 1)],
    ),
    "short_iron_butterfly": (
        ("otm_put_strike", "atm_strike", "otm_call_strike", *ONE),
        (95, 105, 115),
        (E1,),
        [P(95, -1), P(105, 1), C(105, 1), C(115, -1)],
    ),
    "box_spread": (
        ("higher_strike", "lower_strike", *ONE),
        (110, 100),
        (E1,),
        [P(110, 1), P(100, -1), C(100, 1), C(110, -1)],
    ),
    "short_box_spread": (
        ("higher_strike", "lower_strike", *ONE),
        (110, 100),
        (E1,),
        [P(110, -1), P(100, 1), C(100, -1), C(110, 1)],
    ),
    "jelly_roll": (
        ("strike", *NEAR_FAR),
        (100,),
        (E1, E2),
        [C(100, -1, E1), C(100, 1, E2), P(100, 1, E1), P(100, -1, E2)],
    ),
    "short_jelly_roll": (
        ("strike", *NEAR_FAR),
        (100,),
        (E1, E2),
        [C(100, 1, E1), C(100, -1, E2), P(100, -1, E1), P(100, 1, E2)],
    ),
    "bear_call_ladder": ((*LMH, *ONE), (100, 105, 110), (E1,), [C(100, -1), C(105, 1), C(110, 1)]),
    "bull_call_ladder": ((*LMH, *ONE), (100, 105, 110), (E1,), [C(100, 1), C(105, -1), C(110, -1)]),
    "bear_put_ladder": ((*HML, *ONE), (110, 105, 100), (E1,), [P(110, 1), P(105, -1), P(100, -1)]),
    "bull_put_ladder": ((*HML, *ONE), (110, 105, 100), (E1,), [P(110, -1), P(105, 1), P(100, 1)]),
    "call_backspread": (("lower_strike", "higher_strike", *ONE), (100, 110), (E1,), [C(100, -1), C(110, 2)]),
    "short_call_backspread": (("lower_strike", "higher_strike", *ONE), (100, 110), (E1,), [C(100, 1), C(110, -2)]),
    "put_backspread": (("higher_strike", "lower_strike", *ONE), (110, 100), (E1,), [P(110, -1), P(100, 2)]),
    "short_put_backspread": (("higher_strike", "lower_strike", *ONE), (110, 100), (E1,), [P(110, 1), P(100, -2)]),
}

_BEYOND_LONG = {
    "call_diagonal_spread": (
        ("near_strike", "far_strike", *NEAR_FAR),
        (110, 100),
        (E1, E2),
        [C(110, -1, E1), C(100, 1, E2)],
    ),
    "put_diagonal_spread": (
        ("near_strike", "far_strike", *NEAR_FAR),
        (95, 105),
        (E1, E2),
        [P(95, -1, E1), P(105, 1, E2)],
    ),
    "call_condor": ((*CONDOR, *ONE), (95, 100, 110, 115), (E1,), [C(95, 1), C(100, -1), C(110, -1), C(115, 1)]),
    "put_condor": ((*CONDOR, *ONE), (95, 100, 110, 115), (E1,), [P(95, 1), P(100, -1), P(110, -1), P(115, 1)]),
    "call_broken_wing_butterfly": ((*HML, *ONE), (115, 105, 100), (E1,), [C(115, 1), C(105, -2), C(100, 1)]),
    "put_broken_wing_butterfly": ((*HML, *ONE), (110, 105, 95), (E1,), [P(110, 1), P(105, -2), P(95, 1)]),
    "risk_reversal": (("call_strike", "put_strike", *ONE), (110, 95), (E1,), [C(110, 1), P(95, -1)]),
    "synthetic_long_stock": (("strike", *ONE), (100,), (E1,), [C(100, 1), P(100, -1)]),
    "jade_lizard": (
        ("put_strike", "short_call_strike", "long_call_strike", *ONE),
        (95, 105, 110),
        (E1,),
        [P(95, -1), C(105, -1), C(110, 1)],
    ),
    "call_christmas_tree": ((*LMH, *ONE), (95, 105, 110), (E1,), [C(95, 1), C(105, -3), C(110, 2)]),
    "put_christmas_tree": ((*HML, *ONE), (115, 105, 100), (E1,), [P(115, 1), P(105, -3), P(100, 2)]),
    "double_calendar": (
        ("put_strike", "call_strike", *NEAR_FAR),
        (95, 110),
        (E1, E2),
        [P(95, -1, E1), P(95, 1, E2), C(110, -1, E1), C(110, 1, E2)],
    ),
    "double_diagonal": (
        (*IC, *NEAR_FAR),
        (95, 100, 110, 115),
        (E1, E2),
        [P(95, 1, E2), P(100, -1, E1), C(110, -1, E1), C(115, 1, E2)],
    ),
}
_BEYOND_SHORT = {  # short name: (long name, parameters when renamed)
    "short_call_diagonal_spread": ("call_diagonal_spread", None),
    "short_put_diagonal_spread": ("put_diagonal_spread", None),
    "short_call_condor": ("call_condor", None),
    "short_put_condor": ("put_condor", None),
    "short_call_broken_wing_butterfly": ("call_broken_wing_butterfly", None),
    "short_put_broken_wing_butterfly": ("put_broken_wing_butterfly", None),
    "short_risk_reversal": ("risk_reversal", None),
    "synthetic_short_stock": ("synthetic_long_stock", None),
    "short_call_christmas_tree": ("call_christmas_tree", None),
    "short_put_christmas_tree": ("put_christmas_tree", None),
    "short_double_calendar": ("double_calendar", None),
    "short_double_diagonal": ("double_diagonal", (*SIC, *NEAR_FAR)),
}
BEYOND = dict(_BEYOND_LONG)
for _short, (_long, _params) in _BEYOND_SHORT.items():
    _p, _k, _e, _legs = _BEYOND_LONG[_long]
    BEYOND[_short] = (_params or _p, _k, _e, negate(_legs))
SPEC = {**LEAN, **BEYOND}


def _ordered(*ks):
    return all(a < b for a, b in itertools.pairwise(ks))


# name: is (strikes..., expiries...) valid -- the spec's validation column, restated.
VALID = {
    "protective_collar": lambda c, p, e: c >= p,
    "bull_call_spread": lambda a, b, e: a < b,
    "bear_call_spread": lambda a, b, e: a < b,
    "bear_put_spread": lambda a, b, e: a > b,
    "bull_put_spread": lambda a, b, e: a > b,
    "strangle": lambda c, p, e: c > p,
    "short_strangle": lambda c, p, e: c > p,
    **{
        name: (lambda h, m, lo, e: h > m > lo and h - m == m - lo)
        for name in ("call_butterfly", "short_butterfly_call", "put_butterfly", "short_butterfly_put")
    },
    **{
        name: (lambda k, near, far: near < far)
        for name in (
            "call_calendar_spread",
            "short_call_calendar_spread",
            "put_calendar_spread",
            "short_put_calendar_spread",
            "jelly_roll",
            "short_jelly_roll",
        )
    },
    "iron_condor": lambda lp, sp, sc, lc, e: lp < sp <= sc < lc,
    "short_iron_condor": lambda sp, lp, lc, sc, e: sp < lp <= lc < sc,
    "iron_butterfly": lambda p, a, c, e: p < a < c and a - p == c - a,
    "short_iron_butterfly": lambda p, a, c, e: p < a < c and a - p == c - a,
    "box_spread": lambda h, lo, e: h > lo,
    "short_box_spread": lambda h, lo, e: h > lo,
    "bear_call_ladder": lambda lo, m, h, e: lo < m < h,
    "bull_call_ladder": lambda lo, m, h, e: lo < m < h,
    "bear_put_ladder": lambda h, m, lo, e: h > m > lo,
    "bull_put_ladder": lambda h, m, lo, e: h > m > lo,
    "call_backspread": lambda lo, h, e: lo < h,
    "short_call_backspread": lambda lo, h, e: lo < h,
    "put_backspread": lambda h, lo, e: h > lo,
    "short_put_backspread": lambda h, lo, e: h > lo,
    # beyond LEAN
    **{
        name: (lambda kn, kf, near, far: near < far and kn != kf)
        for name in (
            "call_diagonal_spread",
            "short_call_diagonal_spread",
            "put_diagonal_spread",
            "short_put_diagonal_spread",
        )
    },
    **{
        name: (lambda a, b, c, d, e: _ordered(a, b, c, d) and b - a == d - c)
        for name in ("call_condor", "short_call_condor", "put_condor", "short_put_condor")
    },
    "call_broken_wing_butterfly": lambda h, m, lo, e: h > m > lo and h - m > m - lo,
    "short_call_broken_wing_butterfly": lambda h, m, lo, e: h > m > lo and h - m > m - lo,
    "put_broken_wing_butterfly": lambda h, m, lo, e: h > m > lo and m - lo > h - m,
    "short_put_broken_wing_butterfly": lambda h, m, lo, e: h > m > lo and m - lo > h - m,
    "risk_reversal": lambda c, p, e: c > p,
    "short_risk_reversal": lambda c, p, e: c > p,
    "jade_lizard": lambda p, sc, lc, e: p < sc < lc,
    "call_christmas_tree": lambda lo, m, h, e: lo < m < h and m - lo == 2 * (h - m),
    "short_call_christmas_tree": lambda lo, m, h, e: lo < m < h and m - lo == 2 * (h - m),
    "put_christmas_tree": lambda h, m, lo, e: h > m > lo and h - m == 2 * (m - lo),
    "short_put_christmas_tree": lambda h, m, lo, e: h > m > lo and h - m == 2 * (m - lo),
    "double_calendar": lambda p, c, near, far: p <= c and near < far,
    "short_double_calendar": lambda p, c, near, far: p <= c and near < far,
    "double_diagonal": lambda a, b, c, d, near, far: a < b <= c < d and near < far,
    "short_double_diagonal": lambda a, b, c, d, near, far: a < b <= c < d and near < far,
}

GRID_STRIKES = (95, 100, 105, 110, 115)
GRID_EXPIRIES = (E1, E2, E3)
MESSAGE = re.compile(r"^\w+: .+ \(\S+\) must (be [<>]=?|equal|differ from) .+ \(\S+\)$")


def test_lean_names_are_the_spec_43() -> None:
    lean = [name for name, d in STRATEGIES.items() if d.origin == "lean"]
    assert lean == list(LEAN)  # the 41 structures, in the spec's order
    lean_aliases = {alias for alias in ALIASES if ALIASES[alias] in ("call_butterfly", "put_butterfly")}
    assert len(lean) + len(lean_aliases) == 43
    assert get_strategy("butterfly_call") is STRATEGIES["call_butterfly"]
    assert get_strategy("butterfly_put") is STRATEGIES["put_butterfly"]


def test_catalogue_is_exactly_the_spec_table() -> None:
    assert set(STRATEGIES) == set(SPEC)
    assert {d.name for d in STRATEGIES.values() if d.origin == "beyond_lean"} == set(BEYOND)


@pytest.mark.parametrize("name", list(SPEC))
def test_parameters_and_legs(name: str) -> None:
    parameters, strikes, expiries, expected = SPEC[name]
    strategy = STRATEGIES[name]
    assert strategy.parameters == parameters
    assert (strategy.n_strikes, strategy.n_expiries) == (len(strikes), len(expiries))
    assert build(name, strikes, expiries) == expected


@pytest.mark.parametrize("name", list(SPEC))
def test_quantities_have_gcd_one(name: str) -> None:
    _, strikes, expiries, _ = SPEC[name]
    legs = build(name, strikes, expiries, multiplier=M)
    units = [leg.quantity // M if leg.kind == "underlying" else leg.quantity for leg in legs]
    assert reduce(math.gcd, map(abs, units)) == 1


@pytest.mark.parametrize("name", [n for n, d in STRATEGIES.items() if d.negation_of])
def test_short_is_its_long_negated(name: str) -> None:
    _, strikes, expiries, _ = SPEC[name]
    short, long = STRATEGIES[name], STRATEGIES[STRATEGIES[name].negation_of]
    assert build(name, strikes, expiries) == negate(build(long.name, strikes, expiries))
    assert len(short.rules) == len(long.rules)


def test_every_short_name_negates_its_long_name() -> None:
    for name, strategy in STRATEGIES.items():
        if name.startswith("short_") and name[len("short_") :] in STRATEGIES:
            assert strategy.negation_of == name[len("short_") :]


def test_conversion_is_a_collar_at_one_strike() -> None:
    assert build("conversion", [100], [E1]) == build("protective_collar", [100, 100], [E1])


@pytest.mark.parametrize("name", list(SPEC))
def test_validation_matches_the_spec_on_a_grid(name: str) -> None:
    """Every combination of grid strikes and expiries builds iff the spec's rule holds, and every
    rule of the structure is the one reported for some combination."""
    strategy = STRATEGIES[name]
    valid = VALID.get(name, lambda *_: True)
    broken_rules = set()
    for strikes in itertools.product(GRID_STRIKES, repeat=strategy.n_strikes):
        for expiries in itertools.product(GRID_EXPIRIES, repeat=strategy.n_expiries):
            expected = valid(*strikes, *expiries)
            try:
                strategy.build(strikes, expiries)
            except StrategyError as exc:
                assert not expected, f"{name}{strikes}{expiries} should build: {exc}"
                assert str(exc).startswith(f"{name}: ") and MESSAGE.match(str(exc)), str(exc)
                broken_rules.add(exc.rule)
            else:
                assert expected, f"{name}{strikes}{expiries} should be rejected"
    assert broken_rules == {rule.text for rule in strategy.rules}


@pytest.mark.parametrize(
    ("name", "strikes", "expiries", "message"),
    [
        ("bull_call_spread", [450, 445], [E1], "bull_call_spread: leg1_strike (450) must be < leg2_strike (445)"),
        ("bear_put_spread", [445, 450], [E1], "bear_put_spread: leg1_strike (445) must be > leg2_strike (450)"),
        ("protective_collar", [95, 100], [E1], "protective_collar: call_strike (95) must be >= put_strike (100)"),
        (
            "call_butterfly",
            [110, 105, 95],
            [E1],
            "call_butterfly: higher_strike - middle_strike (5) must equal middle_strike - lower_strike (10)",
        ),
        (
            "iron_condor",
            [95, 105, 100, 115],
            [E1],
            "iron_condor: short_put_strike (105) must be <= short_call_strike (100)",
        ),
        (
            "short_iron_condor",
            [100, 95, 110, 115],
            [E1],
            "short_iron_condor: short_put_strike (100) must be < long_put_strike (95)",
        ),
        (
            "call_calendar_spread",
            [100],
            [E2, E1],
            "call_calendar_spread: near_expiration (2024-07-19) must be < far_expiration (2024-06-21)",
        ),
        (
            "call_christmas_tree",
            [95, 100, 110],
            [E1],
            "call_christmas_tree: middle_strike - lower_strike (5) must equal 2 * (higher_strike - middle_strike) (20)",
        ),
        (
            "call_diagonal_spread",
            [100, 100],
            [E1, E2],
            "call_diagonal_spread: near_strike (100) must differ from far_strike (100)",
        ),
    ],
)
def test_rule_messages(name: str, strikes: list, expiries: list, message: str) -> None:
    with pytest.raises(StrategyError) as info:
        build(name, strikes, expiries)
    assert str(info.value) == message


def test_equal_wings_are_exact_for_decimal_strikes() -> None:
    legs = build("call_butterfly", [0.3, 0.2, 0.1], [E1])
    assert [leg.strike for leg in legs] == [0.3, 0.2, 0.1]
    assert build("iron_butterfly", ["447.5", "450", "452.5"], [E1])[0].strike == 447.5


@pytest.mark.parametrize("name", list(SPEC))
def test_every_strategy_rejects_non_positive_strikes_and_unreal_dates(name: str) -> None:
    parameters, strikes, expiries, _ = SPEC[name]
    with pytest.raises(StrategyError, match=rf"^{name}: {parameters[0]} must be a positive number, got -5$"):
        build(name, [-5, *strikes[1:]], expiries)
    expiry_name = parameters[len(strikes)]
    unreal = rf"^{name}: {expiry_name} must be a real date YYYY-MM-DD, got '2024-02-30'$"
    with pytest.raises(StrategyError, match=unreal):
        build(name, strikes, ["2024-02-30", *expiries[1:]])


@pytest.mark.parametrize(
    ("strikes", "expiries", "message"),
    [
        (
            [100],
            [E1],
            "iron_condor: takes 4 strikes (long_put_strike, short_put_strike, short_call_strike, "
            "long_call_strike), got 1",
        ),
        ([95, 100, 110, 115], [E1, E2], "iron_condor: takes 1 expiry (expiration), got 2"),
        ([95, 0, 110, 115], [E1], "iron_condor: short_put_strike must be a positive number, got 0"),
        ([95, "abc", 110, 115], [E1], "iron_condor: short_put_strike must be a positive number, got 'abc'"),
        ([95, float("nan"), 110, 115], [E1], "iron_condor: short_put_strike must be a positive number, got nan"),
        ([95, True, 110, 115], [E1], "iron_condor: short_put_strike must be a positive number, got True"),
        ([95, 100, 110, 115], ["20240621"], "iron_condor: expiration must be a real date YYYY-MM-DD, got '20240621'"),
        ([95, 100, 110, 115], [20240621], "iron_condor: expiration must be a real date YYYY-MM-DD, got 20240621"),
    ],
)
def test_input_errors_name_the_parameter(strikes: list, expiries: list, message: str) -> None:
    with pytest.raises(StrategyError) as info:
        build("iron_condor", strikes, expiries)
    assert str(info.value) == message
    assert info.value.rule is None


def test_expiries_as_iso_strings_and_datetimes() -> None:
    assert build("naked_put", ["100"], ["2024-06-21"]) == [P(100, -1)]
    assert build("naked_put", 100, E1) == [P(100, -1)]  # a lone value for a one-parameter list
    with pytest.raises(StrategyError, match=r"^naked_put: expiries must be a list, got None$"):
        build("naked_put", [100], None)
    with pytest.raises(StrategyError, match="expiration must be a date, not a datetime"):
        build("naked_put", [100], [dt.datetime(2024, 6, 21, 16)])


@pytest.mark.parametrize("multiplier", [0, -100, 1.5, True])
def test_multiplier_must_be_a_positive_integer(multiplier: object) -> None:
    with pytest.raises(StrategyError, match="covered_call: multiplier must be a positive integer"):
        build("covered_call", [100], [E1], multiplier=multiplier)


def test_underlying_leg_is_in_shares_of_the_multiplier() -> None:
    assert build("covered_call", [100], [E1], multiplier=10) == [C(100, -1), U(10)]
    assert build("protective_collar", [110, 95], [E1], multiplier=1000)[-1] == U(1000)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("butterfly_call", "call_butterfly"),
        ("butterfly_put", "put_butterfly"),
        ("ButterflyCall", "call_butterfly"),
        ("BullCallSpread", "bull_call_spread"),
        ("ShortIronCondor", "short_iron_condor"),
        ("bull-call-spread", "bull_call_spread"),
        ("call_ratio_spread", "short_call_backspread"),
        ("put_ratio_spread", "short_put_backspread"),
    ],
)
def test_aliases_and_lean_names_resolve(given: str, canonical: str) -> None:
    assert get_strategy(given).name == canonical


def test_alias_builds_its_target() -> None:
    assert build("butterfly_call", [110, 105, 100], [E1]) == build("call_butterfly", [110, 105, 100], [E1])


def test_unknown_names_list_close_matches() -> None:
    with pytest.raises(StrategyError, match=r"^unknown strategy 'iron_condr'; close matches: iron_condor"):
        get_strategy("iron_condr")
    with pytest.raises(StrategyError, match=r"^unknown strategy 'zzz'; 66 are listed by `strategies list`$"):
        build("zzz", [1], [E1])


cents = st.integers(min_value=1, max_value=500_000).map(lambda c: c / 100)


@given(middle=cents, width=cents)
def test_equal_wings_hold_for_any_cent_strikes(middle: float, width: float) -> None:
    """Float strikes such as 0.3 / 0.2 / 0.1 must not fail an equal-wing rule by rounding."""
    assume(middle - width > 0)
    higher, lower = round(middle + width, 2), round(middle - width, 2)
    legs = build("call_butterfly", [higher, middle, lower], [E1])
    assert [leg.strike for leg in legs] == [higher, middle, lower]
    assert build("iron_butterfly", [lower, middle, higher], [E1])[1].strike == middle
    with pytest.raises(StrategyError, match="must equal"):
        build("put_butterfly", [round(higher + 0.01, 2), middle, lower], [E1])

"""Option chains from NautilusTrader instruments: look-up, selection helpers and binding to contracts."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from nautilus_trader.model.identifiers import InstrumentId, generic_spread_id_to_list
from nautilus_trader.model.instruments import Equity, OptionContract, OptionSpread
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hybrid.options.catalogue import STRATEGIES, StrategyError, build
from hybrid.options.chain import ChainError, Mark, OptionChain, bind, make_option_spread
from hybrid.options.instruments import expiry_close_ns, make_equity, make_option
from hybrid.options.legs import Leg

E1, E2, E3 = dt.date(2024, 6, 21), dt.date(2024, 7, 19), dt.date(2024, 8, 16)
STRIKES = range(90, 125, 5)  # 90 ... 120


def _instruments(with_equity: bool = True) -> list:
    options = [make_option("SPY", e, r, k) for e in (E1, E2, E3) for r in "CP" for k in STRIKES]
    other = [make_option("QQQ", E1, "C", 400), make_equity("QQQ")]
    return options + other + ([make_equity("SPY")] if with_equity else [])


@pytest.fixture(scope="module")
def chain() -> OptionChain:
    return OptionChain.from_instruments(_instruments(), "SPY")


def toy_delta(contract: OptionContract) -> float:
    """A monotone stand-in for a model delta: 0.5 at 105, 0.125 per 5 points."""
    call = min(max(0.5 - (float(contract.strike_price) - 105) / 40, 0.0), 1.0)
    return call if contract.option_kind.name == "CALL" else call - 1


def test_chain_knows_expiries_strikes_and_underlying(chain: OptionChain) -> None:
    assert chain.expiries == (E1, E2, E3)
    assert chain.strikes(E2, "put") == tuple(float(k) for k in STRIKES)
    assert isinstance(chain.underlying_instrument, Equity)
    assert str(chain.underlying_instrument.id) == "SPY.OPRA"
    assert str(chain.venue) == "OPRA"
    contract = chain.contract(E1, "call", 105)
    assert contract.id.symbol.value == "SPY   240621C00105000"


def test_from_instruments_names_the_underlyings_it_found() -> None:
    with pytest.raises(ChainError, match=r"no OptionContract with underlying 'IWM' .*underlyings found: QQQ, SPY"):
        OptionChain.from_instruments(_instruments(), "IWM")


def test_a_chain_lives_on_one_venue() -> None:
    contracts = [make_option("SPY", E1, "C", 100), make_option("SPY", E1, "C", 105, venue="XCBO")]
    with pytest.raises(ChainError, match="one venue"):
        OptionChain.from_instruments(contracts, "SPY")


@pytest.mark.parametrize(
    ("expiry", "right", "strike", "message"),
    [
        (E1, "call", 107.5, "SPY: strike 107.5 is not listed for calls expiring 2024-06-21; nearest listed: 105, 110"),
        (E1, "put", 130, "SPY: strike 130 is not listed for puts expiring 2024-06-21; nearest listed: 120$"),
        (E1, "put", 50, "SPY: strike 50 is not listed for puts expiring 2024-06-21; nearest listed: 90$"),
        (
            dt.date(2024, 7, 1),
            "call",
            100,
            "SPY: expiry 2024-07-01 is not listed; nearest listed: 2024-06-21, 2024-07-19",
        ),
        (dt.date(2025, 1, 17), "call", 100, "SPY: expiry 2025-01-17 is not listed; nearest listed: 2024-08-16$"),
    ],
)
def test_unlisted_contracts_name_the_nearest_listed(
    chain: OptionChain, expiry: dt.date, right: str, strike: float, message: str
) -> None:
    with pytest.raises(ChainError, match=message.replace("(", r"\(").replace(")", r"\)")):
        chain.contract(expiry, right, strike)


def test_an_expiry_with_no_puts() -> None:
    only_calls = OptionChain.from_instruments([make_option("SPY", E1, "C", 100)], "SPY")
    with pytest.raises(ChainError, match="SPY: no puts listed for 2024-06-21"):
        only_calls.strikes(E1, "put")
    with pytest.raises(ChainError, match="right must be 'call' or 'put', got 'C'"):
        only_calls.strikes(E1, "C")
    with pytest.raises(ChainError, match="SPY: a chain needs at least one option contract"):
        OptionChain("SPY", [])


def test_option_spread_round_trips_an_iron_condor(chain: OptionChain) -> None:
    ratios = [
        (chain.contract(E1, "put", 95), 1),
        (chain.contract(E1, "put", 100), -1),
        (chain.contract(E1, "call", 110), -1),
        (chain.contract(E1, "call", 115), 1),
    ]
    spread = make_option_spread(ratios, strategy_type="iron_condor")
    expected = sorted(((c.id, r) for c, r in ratios), key=lambda pair: pair[0].symbol.value)
    assert spread.legs() == expected
    assert generic_spread_id_to_list(spread.id) == expected
    assert "((1))SPY   240621P00100000" in spread.id.symbol.value
    assert (spread.strategy_type, spread.underlying, str(spread.id.venue)) == ("iron_condor", "SPY", "OPRA")
    assert spread.multiplier == ratios[0][0].multiplier
    assert spread.expiration_ns == expiry_close_ns(E1)


def test_option_spread_needs_two_like_legs(chain: OptionChain) -> None:
    with pytest.raises(ChainError, match="at least 2 option legs"):
        make_option_spread([(chain.contract(E1, "put", 95), 1)])
    mini = make_option("SPY", E1, "C", 100, multiplier=10)
    with pytest.raises(ChainError, match="one contract multiplier"):
        make_option_spread([(chain.contract(E1, "call", 100), 1), (mini, -1)])


def test_bind_iron_condor_to_one_spread(chain: OptionChain) -> None:
    legs = build("iron_condor", [95, 100, 110, 115], [E1])
    bound = bind(legs, chain, strategy_type="iron_condor")
    assert isinstance(bound.option_instrument, OptionSpread)
    assert bound.option_quantity == 1
    assert [b.leg for b in bound.legs] == legs
    assert [b.instrument.id for b in bound.legs] == [i for i, _ in bound.option_ratios]
    assert [r for _, r in bound.option_ratios] == [1, -1, -1, 1]
    assert sorted(bound.option_instrument.legs()) == sorted(bound.option_ratios)
    assert bound.underlying_instrument is None and bound.underlying_quantity == 0


def test_a_calendar_spread_expires_with_its_near_leg(chain: OptionChain) -> None:
    bound = bind(build("call_calendar_spread", [105], [E1, E3]), chain)
    assert bound.option_instrument.expiration_ns == expiry_close_ns(E1)
    assert bound.option_instrument.strategy_type == "SPREAD"


def test_a_single_option_leg_binds_to_the_contract(chain: OptionChain) -> None:
    bound = bind(build("naked_put", [100], [E2]), chain)
    assert isinstance(bound.option_instrument, OptionContract)
    assert bound.option_instrument == chain.contract(E2, "put", 100)
    assert (bound.option_quantity, [r for _, r in bound.option_ratios]) == (-1, [-1])


def test_underlying_leg_binds_to_the_equity_separately(chain: OptionChain) -> None:
    bound = bind(build("covered_call", [110], [E1]), chain)
    assert bound.option_instrument == chain.contract(E1, "call", 110)
    assert bound.option_quantity == -1
    assert bound.underlying_instrument == chain.underlying_instrument
    assert bound.underlying_quantity == 100
    assert bound.legs[1].instrument == chain.underlying_instrument

    collar = bind(build("protective_collar", [110, 95], [E1]), chain)
    assert isinstance(collar.option_instrument, OptionSpread)
    assert sorted(r for _, r in collar.option_instrument.legs()) == [-1, 1]
    assert collar.underlying_quantity == 100


def test_underlying_leg_needs_the_equity_in_the_chain() -> None:
    no_equity = OptionChain.from_instruments(_instruments(with_equity=False), "SPY")
    with pytest.raises(ChainError, match=r"leg 2 \(underlying \+100 shares\): the chain has no Equity SPY.OPRA"):
        bind(build("covered_call", [110], [E1]), no_equity)


def test_bind_names_the_leg_and_the_nearest_listed(chain: OptionChain) -> None:
    legs = build("bull_put_spread", [107.5, 100], [E1])
    with pytest.raises(ChainError) as info:
        bind(legs, chain)
    assert str(info.value) == (
        "leg 1 (put 107.5 2024-06-21 -1): SPY: strike 107.5 is not listed for puts expiring 2024-06-21; "
        "nearest listed: 105, 110"
    )
    with pytest.raises(ChainError, match=r"^leg 2 \(call 105 2024-07-26 \+1\): SPY: expiry 2024-07-26 is not listed"):
        bind(build("call_calendar_spread", [105], [E1, dt.date(2024, 7, 26)]), chain)


def test_common_factor_is_the_quantity_and_duplicates_net(chain: OptionChain) -> None:
    legs = [Leg("call", 100, E1, 2), Leg("call", 110, E1, -4)]
    bound = bind(legs, chain)
    assert bound.option_quantity == 2
    assert [r for _, r in bound.option_ratios] == [1, -2]

    netted = bind([Leg("call", 100, E1, 1), Leg("call", 110, E1, -1), Leg("call", 100, E1, 1)], chain)
    assert [r for _, r in netted.option_ratios] == [2, -1]
    assert netted.option_quantity == 1
    with pytest.raises(ChainError, match="cancel out"):
        bind([Leg("put", 100, E1, 1), Leg("put", 100, E1, -1)], chain)
    with pytest.raises(ChainError, match="no legs"):
        bind([], chain)


def test_every_catalogue_structure_binds(chain: OptionChain) -> None:
    """The first valid grid input of every structure binds, and its spread carries the legs' ratios."""
    for strategy in STRATEGIES.values():
        legs = _first_valid(strategy)
        bound = bind(legs, chain, strategy_type=strategy.name)
        option_legs = [b for b in bound.legs if b.leg.is_option]
        expected = {(b.instrument.id, b.leg.quantity) for b in option_legs}
        if len(option_legs) == 1:
            assert bound.option_instrument == option_legs[0].instrument
        else:
            assert set(bound.option_instrument.legs()) == expected
            assert bound.option_quantity == 1
        assert bound.underlying_quantity == sum(b.leg.quantity for b in bound.legs if not b.leg.is_option)


def _first_valid(strategy) -> list[Leg]:
    for strikes in itertools.product(range(95, 120, 5), repeat=strategy.n_strikes):
        for expiries in itertools.product((E1, E2, E3), repeat=strategy.n_expiries):
            try:
                return strategy.build(strikes, expiries)
            except StrategyError:
                continue
    raise AssertionError(f"no valid grid input for {strategy.name}")


def test_marks_price_bound_legs_and_drive_delta_selection() -> None:
    chain = OptionChain.from_instruments(_instruments(), "SPY")
    put_100 = chain.contract(E1, "put", 100)
    chain.attach_marks({put_100.id: Mark(price=1.25, iv=0.21, delta=-0.3)})
    bound = bind([Leg("put", 100, E1, -1), Leg("put", 95, E1, 1, price=0.6)], chain)
    assert (bound.legs[0].leg.price, bound.legs[0].leg.iv) == (1.25, 0.21)
    assert (bound.legs[1].leg.price, bound.legs[1].leg.iv) == (0.6, None)
    assert chain.strike_by_delta(E1, "put", 0.25) == 100  # the only put with a known delta
    assert chain.mark(InstrumentId.from_str("SPY.OPRA")) is None


@pytest.mark.parametrize(
    ("as_of", "window", "target", "expected"),
    [
        (dt.date(2024, 6, 5), (30, 45), None, E2),  # 44 DTE is the only one in 30-45
        (dt.date(2024, 6, 5), (10, 80), None, E2),  # 16, 44, 72 DTE: 44 is nearest 45
        (dt.date(2024, 6, 5), (10, 80), 10, E1),
        (dt.date(2024, 6, 5), (10, 80), 100, E3),
        (dt.date(2024, 6, 19), (2, 58), 30, E2),  # 2 and 30 DTE: 30 wins
        (dt.date(2024, 6, 5), (16, 16), None, E1),  # both ends included
    ],
)
def test_expiry_by_dte(chain: OptionChain, as_of: dt.date, window: tuple, target, expected: dt.date) -> None:
    assert chain.expiry_by_dte(as_of, *window, target_dte=target) == expected


def test_expiry_by_dte_tie_goes_to_the_nearer_expiry() -> None:
    chain = OptionChain.from_instruments([make_option("SPY", e, "C", 100) for e in (E1, E2)], "SPY")
    assert chain.expiry_by_dte(E1 - dt.timedelta(days=10), 0, 100, target_dte=24) == E1  # 10 and 38 DTE


def test_expiry_by_dte_names_the_nearest_outside_the_window(chain: OptionChain) -> None:
    with pytest.raises(ChainError) as info:
        chain.expiry_by_dte(dt.date(2024, 6, 5), 20, 40)
    assert str(info.value) == (
        "SPY: no expiry 20-40 DTE from 2024-06-05; nearest listed: 2024-06-21 (16 DTE), 2024-07-19 (44 DTE)"
    )
    with pytest.raises(ChainError, match="0 <= min_dte <= max_dte, got 45-30"):
        chain.expiry_by_dte(dt.date(2024, 6, 5), 45, 30)


@pytest.mark.parametrize(
    ("spot", "offset", "right", "expected"),
    [
        (103.9, 0, "call", 105),
        (101.0, 0, "put", 100),
        (102.5, 0, "call", 100),  # a tie goes to the lower strike
        (104.0, 2, "call", 115),
        (104.0, -3, "put", 90),
    ],
)
def test_strike_by_atm_offset(chain: OptionChain, spot: float, offset: int, right: str, expected: float) -> None:
    assert chain.strike_by_atm_offset(E1, right, spot, offset) == expected


def test_atm_offset_outside_the_chain(chain: OptionChain) -> None:
    message = r"ATM offset \+4 from 105 leaves the 7 listed call strikes for 2024-06-21 \(90-120\)"
    with pytest.raises(ChainError, match=message):
        chain.strike_by_atm_offset(E1, "call", 104, 4)


@pytest.mark.parametrize(
    ("start", "width", "expected"),
    [(100, 10, 110), (100, 7, 105), (100, 8, 110), (100, -5, 95), (100, 2, 105), (100, 7.5, 105), (102, 5, 105)],
)
def test_strike_by_width(chain: OptionChain, start: float, width: float, expected: float) -> None:
    assert chain.strike_by_width(E1, "call", start, width) == expected


def test_strike_by_width_errors(chain: OptionChain) -> None:
    with pytest.raises(ChainError, match="SPY: no put strike listed above 120 for 2024-06-21"):
        chain.strike_by_width(E1, "put", 120, 5)
    with pytest.raises(ChainError, match="width must be non-zero"):
        chain.strike_by_width(E1, "put", 100, 0)


@pytest.mark.parametrize(
    ("right", "target", "expected"), [("call", 0.5, 105), ("call", 0.25, 115), ("put", -0.25, 95), ("put", 0.26, 95)]
)
def test_strike_by_delta_with_a_callback(chain: OptionChain, right: str, target: float, expected: float) -> None:
    assert chain.strike_by_delta(E1, right, target, delta=toy_delta) == expected


def test_strike_by_delta_errors(chain: OptionChain) -> None:
    with pytest.raises(ChainError, match="no call delta known for 2024-06-21"):
        chain.strike_by_delta(E1, "call", 0.3, delta=lambda c: None)
    with pytest.raises(ChainError, match="between 0 and 1"):
        chain.strike_by_delta(E1, "call", 1.2, delta=toy_delta)


def test_chain_from_a_parquet_catalog_binds_a_selected_iron_condor(small_catalog: Path) -> None:
    """The path a runner takes: catalog instruments -> chain -> helpers pick strikes -> one spread."""
    chain = OptionChain.from_instruments(ParquetDataCatalog(str(small_catalog)).instruments(), "SPY")
    assert isinstance(chain.underlying_instrument, Equity)
    as_of = chain.expiries[0] - dt.timedelta(days=3)
    expiry = chain.expiry_by_dte(as_of, 5, 20, target_dte=10)
    assert 5 <= (expiry - as_of).days <= 20
    spot = chain.strikes(expiry, "call")[len(chain.strikes(expiry, "call")) // 2]
    short_put = chain.strike_by_atm_offset(expiry, "put", spot, -1)
    short_call = chain.strike_by_atm_offset(expiry, "call", spot, 1)
    long_put = chain.strike_by_width(expiry, "put", short_put, -5)
    long_call = chain.strike_by_width(expiry, "call", short_call, 5)
    legs = build("iron_condor", [long_put, short_put, short_call, long_call], [expiry])
    bound = bind(legs, chain, strategy_type="iron_condor")
    assert sorted(bound.option_instrument.legs()) == sorted((b.instrument.id, b.leg.quantity) for b in bound.legs)

"""How one strategy's settled position is shared between the groups that held the contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from nautilus_trader.model.identifiers import InstrumentId

from hybrid.options.instruments import make_option
from hybrid.tracking.settlement import SettledFill, VenueSettlement, intrinsic_value, share_settlement

T = 1_704_488_400_000_000_000  # 2024-01-05 16:00 New York
PUT = make_option("SPY", dt.date(2024, 1, 5), "P", 450)
CALL = make_option("SPY", dt.date(2024, 1, 5), "C", 415)
SPY = InstrumentId.from_str("SPY.OPRA")
D = Decimal


def cash(fills: list[SettledFill]) -> Decimal:
    return sum((-f.signed_qty * D(str(f.price)) * (1 if f.instrument_id == SPY else 100) for f in fills), D(0))


def test_holdings_that_cancel_close_at_the_value_the_contract_has_at_expiry() -> None:
    # no venue settlement at all: +2 and -2 netted to a flat position
    shared = share_settlement(CALL.id, [("a", D(2)), ("b", D(-2))], T, 18.07, None)
    assert shared == {
        "a": [SettledFill(T, CALL.id, D(-2), 18.07)],
        "b": [SettledFill(T, CALL.id, D(2), 18.07)],
    }
    assert cash(shared["a"]) + cash(shared["b"]) == 0


def test_the_venues_part_goes_to_its_side_and_the_rest_is_netted() -> None:
    # short P450 assigned: the venue closed -2 at 0 and delivered +200 shares at the strike
    venue = VenueSettlement(T, D(-2), 0.0, SPY, D(200), 450.0)
    shared = share_settlement(PUT.id, [("low", D(1)), ("high", D(-3))], T, 16.93, venue)
    assert shared == {
        "low": [SettledFill(T, PUT.id, D(-1), 16.93)],
        "high": [
            SettledFill(T, PUT.id, D(2), 0.0),
            SettledFill(T, SPY, D(200), 450.0, delivered=True),
            SettledFill(T, PUT.id, D(1), 16.93),
        ],
    }
    venue_cash = -D(200) * 450  # what the account paid for the delivered shares
    assert cash(shared["low"]) + cash(shared["high"]) == venue_cash


def test_a_position_held_by_groups_on_one_side_is_shared_by_holding_first_opened_first() -> None:
    venue = VenueSettlement(T, D(3), 0.0, SPY, D(300), 415.0)
    shared = share_settlement(CALL.id, [("first", D(2)), ("other", D(-1)), ("second", D(2))], T, 18.07, venue)
    shares = {g: [f.signed_qty for f in fills if f.delivered] for g, fills in shared.items()}
    assert shares == {"first": [D(200)], "other": [], "second": [D(100)]}  # second: 1 by the venue, 1 netted
    assert [f.signed_qty for f in shared["second"] if not f.delivered] == [D(-1), D(-1)]


def test_intrinsic_value_is_in_the_contracts_ticks_and_never_negative() -> None:
    assert intrinsic_value(CALL, 433.074) == 18.07
    assert intrinsic_value(PUT, 433.07) == 16.93
    assert intrinsic_value(PUT, 455.0) == 0.0

"""Greeks of option contracts at their marks, and of a book of positions: the one definition that the risk
gate, the recurring templates' conditions and the API all use.

Per-share Greeks are Black-Scholes-Merton's (:func:`hybrid.options.pricing.chain_iv_greeks`) at the
implied vol of the contract's mark, with the underlying's mark as spot, a continuous rate and dividend
yield (cost of carry b = r - q) and the time to the expiry's 16:00 New York close; units as
NautilusTrader's: delta, gamma, vega per vol point, theta per calendar day. NautilusTrader's
``GreeksCalculator`` is not used: its defaults (r = 4.25%, b = 0) mis-state equity option IVs and it
floors the time to expiry to whole days (at least one), which is wrong near expiry.

Held Greeks are share-equivalent: quantity x multiplier x per-share Greek; shares count as delta 1.
A held option without a mark, or whose underlying has none, has unknown Greeks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
from nautilus_trader.model.instruments import Equity, Instrument, OptionContract

from hybrid.calendar.exchange_time import ns_new_york
from hybrid.options.chain import contract_expiry, contract_right
from hybrid.options.pricing import IVStatus, chain_iv_greeks, years_to_expiry
from hybrid.valuation.marks import cache_mark


@dataclass(frozen=True, slots=True)
class Greeks:
    """Delta, gamma, vega (per vol point) and theta (per calendar day), per share or share-equivalent."""

    delta: float
    gamma: float
    vega: float
    theta: float

    def scaled(self, factor: float) -> Greeks:
        return Greeks(self.delta * factor, self.gamma * factor, self.vega * factor, self.theta * factor)

    def __add__(self, other: Greeks) -> Greeks:
        return Greeks(
            self.delta + other.delta, self.gamma + other.gamma, self.vega + other.vega, self.theta + other.theta
        )


ZERO_GREEKS = Greeks(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class ContractValue:
    """One option contract at its mark: the implied vol (None, with ``note`` saying why) and the per-share
    Greeks (the zero-volatility limits when there is no vol to imply; None without a mark or a spot)."""

    iv: float | None
    note: str | None
    greeks: Greeks | None


def value_contracts(
    contracts: Sequence[OptionContract],
    marks: Sequence[float | None],
    spot: float | None,
    now_ns: int,
    rate: float,
    dividend: float,
) -> list[ContractValue]:
    """Each contract of one underlying valued at its mark (``marks`` in the same order), in one array pass."""
    priced = [i for i, mark in enumerate(marks) if mark is not None]
    values = [ContractValue(None, "no two-sided quote" if mark is None else None, None) for mark in marks]
    if spot is None:
        return [ContractValue(None, value.note or "no underlying quote", None) for value in values]
    if not priced:
        return values
    as_of = ns_new_york(now_ns)
    expiries = [contract_expiry(contracts[i]) for i in priced]
    years_of = {expiry: years_to_expiry(expiry, as_of) for expiry in set(expiries)}
    result = chain_iv_greeks(
        spot,
        np.array([float(contracts[i].strike_price) for i in priced]),
        np.array([years_of[expiry] for expiry in expiries]),
        np.array([contract_right(contracts[i]) == "call" for i in priced]),
        np.array([marks[i] for i in priced]),
        rate,
        dividend,
    )
    for j, i in enumerate(priced):
        status = IVStatus(int(result.status[j]))
        values[i] = ContractValue(
            iv=float(result.iv[j]) if status is IVStatus.OK else None,
            note=status.reason,
            greeks=Greeks(
                delta=float(result.delta[j]),
                gamma=float(result.gamma[j]),
                vega=float(result.vega[j]),
                theta=float(result.theta[j]),
            ),
        )
    return values


def underlying_id(contract: OptionContract) -> InstrumentId:
    """The underlying's instrument id: the stock on the option's venue (as NautilusTrader finds it)."""
    return InstrumentId(Symbol(contract.underlying), contract.id.venue)


def value_held(
    cache: CacheFacade, instrument_ids: Iterable[InstrumentId], now_ns: int, rate: float, dividend: float
) -> dict[InstrumentId, ContractValue]:
    """The option contracts among ``instrument_ids`` valued at their cache marks, one pass per underlying."""
    by_underlying: dict[InstrumentId, list[OptionContract]] = defaultdict(list)
    for instrument_id in dict.fromkeys(instrument_ids):
        instrument = cache.instrument(instrument_id)
        if isinstance(instrument, OptionContract):
            by_underlying[underlying_id(instrument)].append(instrument)
    values: dict[InstrumentId, ContractValue] = {}
    for spot_id, contracts in by_underlying.items():
        marks = [cache_mark(cache, contract.id) for contract in contracts]
        spot = cache_mark(cache, spot_id) if isinstance(cache.instrument(spot_id), Equity) else None
        for contract, value in zip(contracts, value_contracts(contracts, marks, spot, now_ns, rate, dividend)):
            values[contract.id] = value
    return values


def held_greeks(
    instrument: Instrument | None, quantity: float, values: Mapping[InstrumentId, ContractValue]
) -> Greeks | None:
    """Share-equivalent Greeks of ``quantity`` of an instrument (``values`` from :func:`value_held`);
    None when they cannot be known."""
    if quantity == 0:
        return ZERO_GREEKS
    if isinstance(instrument, Equity):
        return Greeks(delta=quantity, gamma=0.0, vega=0.0, theta=0.0)
    if not isinstance(instrument, OptionContract):
        return None
    value = values.get(instrument.id)
    if value is None or value.greeks is None:
        return None
    return value.greeks.scaled(quantity * float(instrument.multiplier))


def on_underlying(instrument: Instrument | None, underlying: str) -> bool:
    """Whether ``instrument`` is an option on ``underlying`` or the underlying's stock."""
    if isinstance(instrument, OptionContract):
        return instrument.underlying == underlying
    return isinstance(instrument, Equity) and instrument.id.symbol.value == underlying


@dataclass(frozen=True, slots=True)
class BookGreeks:
    """Share-equivalent Greeks of the open positions that could be valued, and how many could not."""

    greeks: Greeks
    unknown: int


def portfolio_greeks(
    cache: CacheFacade,
    now_ns: int,
    rate: float,
    dividend: float,
    underlying: str | None = None,
    venue: Venue | None = None,
) -> BookGreeks:
    """Share-equivalent Greeks of the open positions (on ``underlying`` and at ``venue`` when given)."""
    positions = [
        position
        for position in cache.positions_open(venue=venue)
        if underlying is None or on_underlying(cache.instrument(position.instrument_id), underlying)
    ]
    values = value_held(cache, (position.instrument_id for position in positions), now_ns, rate, dividend)
    total, unknown = ZERO_GREEKS, 0
    for position in positions:
        greeks = held_greeks(cache.instrument(position.instrument_id), position.signed_qty, values)
        if greeks is None:
            unknown += 1
        else:
            total = total + greeks
    return BookGreeks(total, unknown)

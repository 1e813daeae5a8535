"""The option market of one underlying as the engine's cache sees it now: chain, marks and ATM IV.

Marks are the quote mids (:func:`hybrid.valuation.marks.mark`) with their implied vols and deltas,
computed for a whole chain in one pass by :func:`hybrid.options.pricing.chain_iv_greeks` (cost of
carry b = r - q; NautilusTrader's ``GreeksCalculator`` defaults to b = 0, which mis-states equity
option IVs). The same numbers serve
strike selection by delta and today's 30-day constant-maturity ATM IV (the live complement of the
daily :class:`hybrid.options.iv_data.AtmImpliedVol` history).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OptionKind
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument, OptionContract

from hybrid.calendar.exchange_time import ns_new_york, ns_new_york_date
from hybrid.options.chain import ChainError, Mark, OptionChain, contract_expiry
from hybrid.options.ivrank import constant_maturity_atm_iv
from hybrid.options.pricing import chain_iv_greeks, years_to_expiry
from hybrid.valuation.marks import LegQuote, cache_mark, no_mark_reason, quote_sides


@dataclass(frozen=True)
class MarketSnapshot:
    """A chain of listed, live, quoted contracts with marks attached, at ``as_of`` (New York time)."""

    chain: OptionChain
    spot: float
    as_of: dt.datetime
    rate: float
    dividend: float

    def atm_iv(self, target_days: float = 30.0) -> float | None:
        """Constant-maturity ATM implied vol: per expiry the mean of the call and put IVs at the strike
        nearest the forward, interpolated in total variance to ``target_days`` (held flat outside)."""
        years, ivs = [], []
        for expiry in self.chain.expiries:
            t = years_to_expiry(expiry, self.as_of)
            if t <= 1 / 365:
                continue
            forward = self.spot * np.exp((self.rate - self.dividend) * t)
            try:  # an expiry whose calls are not all quoted now lists none
                strike = min(self.chain.strikes(expiry, "call"), key=lambda k: abs(k - forward))
            except ChainError:
                continue
            found = []
            for right in ("call", "put"):
                try:
                    mark = self.chain.mark(self.chain.contract(expiry, right, strike).id)
                except ValueError:
                    continue
                if mark is not None and mark.iv:
                    found.append(mark.iv)
            if found:
                years.append(t)
                ivs.append(sum(found) / len(found))
        if not years:
            return None
        return constant_maturity_atm_iv(years, ivs, target_days / 365, extrapolate=True)


def tradeable_quote(cache: CacheFacade, contract: OptionContract, now_ns: int) -> LegQuote | None:
    """``contract``'s market when the engine trades it at ``now_ns``, else None (:func:`untradeable` says why).

    The one definition of a tradeable contract, for the engine's chain (:func:`market_snapshot`) and the
    API's chain, preview and order validation alike: active (listed and not expired) and quoted on both
    sides by the mark rule (:func:`hybrid.valuation.marks.mark`).
    """
    if not _active(contract, now_ns):
        return None
    return _two_sided(cache.quote_tick(contract.id))


def _active(contract: OptionContract, now_ns: int) -> bool:
    """Listed and not expired at ``now_ns`` (half of :func:`tradeable_quote`)."""
    return contract.activation_ns <= now_ns < contract.expiration_ns


def _two_sided(tick: QuoteTick | None) -> LegQuote | None:
    """The market of a quote with a mark (the other half of :func:`tradeable_quote`), else None."""
    sides = quote_sides(tick)
    return sides if sides.mid is not None else None


def untradeable(cache: CacheFacade, contract: OptionContract, now_ns: int) -> str | None:
    """Why the engine does not trade ``contract`` at ``now_ns`` (:func:`tradeable_quote`), or None when it does."""
    if tradeable_quote(cache, contract, now_ns) is not None:
        return None
    if now_ns < contract.activation_ns:
        return f"{contract.id} is not listed until {ns_new_york_date(contract.activation_ns)}"
    if now_ns >= contract.expiration_ns:
        return f"{contract.id} has expired"
    tick = cache.quote_tick(contract.id)
    if tick is None:
        return f"{contract.id} has no quote yet"
    sides = quote_sides(tick)
    return f"{contract.id} has no two-sided quote now: {no_mark_reason(sides.bid, sides.ask)}"


def _live_quotes(cache: CacheFacade, underlying: str, now_ns: int) -> dict[OptionContract, LegQuote]:
    """Contracts of ``underlying`` the engine trades at ``now_ns`` with their markets, in the cache's order."""
    live = {}
    for instrument in cache.instruments(underlying=underlying):
        if isinstance(instrument, OptionContract):
            sides = tradeable_quote(cache, instrument, now_ns)
            if sides is not None:
                live[instrument] = sides
    return live


class ChainMemo:
    """The last chain of live contracts :func:`market_snapshot` built for one caller, with what it was built
    from: every contract of the underlying active at the time and its quote tick, and the underlying instrument.

    Orders handed to the engine between two quote updates all ask for the same chain; building it walks
    every contract (its market, its expiry, its strike) and costs about as much as the rest of an entry.
    The check that it is still the same chain walks the contracts too, but only compares the objects the
    cache holds (the cache keeps a quote tick object until a newer one replaces it, and this memo holds a
    reference, so an equal identity is the same tick): the same ticks for the same active contracts give
    the same live markets, so the same chain. On the engine's thread only, like the cache it reads.
    """

    def __init__(self) -> None:
        self._underlying: Instrument | None = None
        self._ticks: list[tuple[OptionContract, QuoteTick | None]] = []
        self._live: dict[OptionContract, LegQuote] = {}
        self._chain: OptionChain | None = None
        self._symbol = ""

    def chain(
        self, cache: CacheFacade, underlying_id: InstrumentId, now_ns: int
    ) -> tuple[dict[OptionContract, LegQuote], OptionChain | None]:
        """The live markets and a chain without marks (None without a live contract), at ``now_ns``."""
        symbol = underlying_id.symbol.value
        ticks = [
            (instrument, cache.quote_tick(instrument.id))
            for instrument in cache.instruments(underlying=symbol)
            if isinstance(instrument, OptionContract) and _active(instrument, now_ns)
        ]
        underlying = cache.instrument(underlying_id)
        if not (symbol == self._symbol and underlying is self._underlying and _same(ticks, self._ticks)):
            live = {}
            for contract, tick in ticks:
                sides = _two_sided(tick)
                if sides is not None:
                    live[contract] = sides
            self._chain = OptionChain(symbol, list(live), underlying) if live else None
            self._symbol, self._underlying, self._ticks, self._live = symbol, underlying, ticks, live
        return self._live, None if self._chain is None else self._chain.unmarked()


def _same(
    ticks: list[tuple[OptionContract, QuoteTick | None]], last: list[tuple[OptionContract, QuoteTick | None]]
) -> bool:
    """The same contract and tick objects in the same order (:class:`ChainMemo`)."""
    return len(ticks) == len(last) and all(
        contract is was and tick is tick_was for (contract, tick), (was, tick_was) in zip(ticks, last, strict=True)
    )


def live_contracts(cache: CacheFacade, underlying: str, now_ns: int) -> list[OptionContract]:
    """Contracts of ``underlying`` the engine trades at ``now_ns`` (:func:`tradeable_quote`)."""
    return list(_live_quotes(cache, underlying, now_ns))


def market_snapshot(
    cache: CacheFacade,
    underlying_id: InstrumentId,
    now_ns: int,
    rate: float,
    dividend: float,
    expiries: Iterable[dt.date] | None = None,
    memo: ChainMemo | None = None,
) -> MarketSnapshot | None:
    """The market now, marks only for ``expiries`` (all when None); None without a spot or a live contract.

    With a ``memo`` (one per caller and cache), the chain of live contracts is built again only once a
    contract's quote tick, the contracts active now or the underlying instrument differ from the last call's
    (:class:`ChainMemo`); the spot and the marks are always computed at ``now_ns``, so the snapshot is the
    one built without it."""
    spot = cache_mark(cache, underlying_id)
    if memo is None:
        live = _live_quotes(cache, underlying_id.symbol.value, now_ns)
        chain = OptionChain(underlying_id.symbol.value, list(live), cache.instrument(underlying_id)) if live else None
    else:
        live, chain = memo.chain(cache, underlying_id, now_ns)
    if spot is None or chain is None:
        return None
    as_of = ns_new_york(now_ns)
    wanted = None if expiries is None else set(expiries)
    marked = {c: sides for c, sides in live.items() if wanted is None or contract_expiry(c) in wanted}
    if marked:
        chain.attach_marks(_marks(marked, spot, as_of, rate, dividend))
    return MarketSnapshot(chain, spot, as_of, rate, dividend)


def _marks(
    markets: dict[OptionContract, LegQuote],
    spot: float,
    as_of: dt.datetime,
    rate: float,
    dividend: float,
) -> dict[InstrumentId, Mark]:
    contracts = list(markets)
    mids = np.array([sides.mid for sides in markets.values()])
    strikes = np.array([c.strike_price.as_double() for c in contracts])
    years = np.array([years_to_expiry(contract_expiry(c), as_of) for c in contracts])
    calls = np.array([c.option_kind == OptionKind.CALL for c in contracts])
    greeks = chain_iv_greeks(spot, strikes, years, calls, mids, rate, dividend)
    valid, ivs, deltas = greeks.valid.tolist(), greeks.iv.tolist(), greeks.delta.tolist()
    return {
        c.id: Mark(price=mid, iv=ivs[i] if valid[i] else None, delta=deltas[i] if valid[i] else None)
        for i, (c, mid) in enumerate(zip(contracts, mids.tolist(), strict=True))
    }

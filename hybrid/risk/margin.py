"""A strategy-aware (Reg-T-like) margin model for option structures, and the actor that installs it.

Money in a NautilusTrader margin account: an option's premium is cash at every fill (a long pays
it, a short receives it) and ``free = balance - margin``. So the requirement held as margin is the
position's worst liability at expiry on top of that cash:

- a set of option legs whose expiry value is bounded below (verticals, condors, butterflies,
  calendars) holds ``-min over prices of its intrinsic value``: an iron condor holds its widest
  wing (with the credit already in cash, free balance falls by exactly its maximum loss); a debit
  butterfly holds nothing more (its maximum loss, the debit, was paid);
- a short option holds a Reg-T naked requirement: ``max(rate x S - out-of-the-money amount,
  min_rate x (S for a call, K for a put)) + premium`` per share (rate 20%, min_rate 10%); a book
  holds the lesser of the two (a cash-secured put's strike exceeds its Reg-T requirement);
- a long option holds nothing beyond its premium, already paid; an order holds its maximum loss
  (requirement plus the debit still to pay, less the credit still to receive);
- the underlying holds ``equity_rate`` (50%) of its notional.

NautilusTrader asks for margin one instrument at a time (``calculate_margin_init`` per working
order, ``calculate_margin_maint`` per net position) and passes neither the spot nor the other legs,
which a structure-aware requirement needs. The model therefore reads them from the cache: on every
option position update it values the whole book of that underlying, gives each short leg its share
(in proportion to its naked requirement) and refreshes the other legs' entries in the account, so
the account's total is the book's requirement whichever leg moved last. It also drops the order
margin of filled spread orders, which NautilusTrader 1.231 leaves in place. A structure closed in full moves
every leg to flat, and NautilusTrader then clears each leg's entry without asking the model, so neither
would happen: the installer refreshes the book (:meth:`OptionsMarginModel.refresh`) whenever an option
position closes, and a flat book holds nothing (the FLATTEN stress test held $5,219 with nothing open).

It cannot come from ``BacktestVenueConfig.margin_model`` (the factory builds models from their
config alone, without a cache); add the :class:`OptionsMarginInstaller` actor instead, which sets
the model on the venue's account at start (the same account object the simulated venue updates)::

    [[actors]]
    path = "hybrid.risk.margin:OptionsMarginInstaller"
    [actors.config]
    venue = "OPRA"
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.accounting.accounts.margin import MarginAccount
from nautilus_trader.accounting.margin_models import MarginModel
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.events import PositionClosed
from nautilus_trader.model.identifiers import InstrumentId, Venue, generic_spread_id_to_list, is_generic_spread_id
from nautilus_trader.model.instruments import Instrument, OptionContract
from nautilus_trader.model.objects import Money, Price, Quantity

from hybrid.nautilus_compat.topics import ALL_POSITION_EVENTS
from hybrid.options.instruments import parse_occ_symbol
from hybrid.options.legs import Leg
from hybrid.valuation.marks import cache_mark


@dataclass(frozen=True, slots=True)
class MarginRates:
    """Reg-T-like rates: naked short options and the underlying."""

    naked_rate: float = 0.20
    naked_min_rate: float = 0.10
    equity_rate: float = 0.50


@dataclass(frozen=True, slots=True)
class OptionPosition:
    """A signed quantity of option contracts."""

    instrument_id: InstrumentId | None
    is_call: bool
    strike: float
    quantity: float
    premium: float = 0.0  # per share, for the naked requirement


def naked_requirement(position: OptionPosition, spot: float, rates: MarginRates, multiplier: float) -> float:
    """Reg-T naked requirement of a short option position, in dollars (0 for a long)."""
    if position.quantity >= 0:
        return 0.0
    k = position.strike
    otm = max(k - spot, 0.0) if position.is_call else max(spot - k, 0.0)
    floor = rates.naked_min_rate * (spot if position.is_call else k)
    per_share = max(rates.naked_rate * spot - otm, floor) + position.premium
    return per_share * -position.quantity * multiplier


def intrinsic_floor(options: Sequence[OptionPosition], multiplier: float) -> float | None:
    """The lowest total intrinsic value of option positions over all underlying prices, in dollars; None if unbounded.

    Intrinsic values are piecewise linear with kinks at the strikes, so the minimum is at 0, at a
    strike, or (when the slope beyond the last strike is negative) nowhere: unbounded.
    """
    if sum(p.quantity for p in options if p.is_call) < 0:
        return None
    return min(_value_at(options, s, multiplier) for s in [0.0, *(p.strike for p in options)])


def _value_at(options: Iterable[OptionPosition], s: float, multiplier: float) -> float:
    return sum(p.quantity * multiplier * max((s - p.strike) if p.is_call else (p.strike - s), 0.0) for p in options)


def book_requirement(options: Sequence[OptionPosition], spot: float, rates: MarginRates, multiplier: float) -> float:
    """Requirement of one underlying's option book in dollars: the lesser of its worst expiry liability
    (when bounded) and the Reg-T naked requirements of its shorts, as Reg-T lets a spread be margined."""
    naked = sum(naked_requirement(p, spot, rates, multiplier) for p in options)
    floor = intrinsic_floor(options, multiplier)
    return naked if floor is None else min(max(-floor, 0.0), naked)


def allocate(
    positions: Sequence[OptionPosition], spot: float, rates: MarginRates, multiplier: float
) -> dict[InstrumentId, float]:
    """The book requirement shared among its short legs in proportion to their naked requirements, in whole
    cents that sum to the requirement (the largest remainders get the odd cents), as the account books them."""
    total = book_requirement(positions, spot, rates, multiplier)
    weights = {p.instrument_id: naked_requirement(p, spot, rates, multiplier) for p in positions}
    weight_sum = sum(weights.values())
    if weight_sum <= 0:
        return {p.instrument_id: 0.0 for p in positions}
    cents = round(total * 100)
    exact = {instrument_id: cents * w / weight_sum for instrument_id, w in weights.items()}
    shares = {instrument_id: math.floor(v) for instrument_id, v in exact.items()}
    odd = sorted(exact, key=lambda i: (shares[i] - exact[i], str(i)))[: cents - sum(shares.values())]
    return {instrument_id: (c + (instrument_id in odd)) / 100 for instrument_id, c in shares.items()}


def entry_requirement(
    legs: Sequence[Leg], units: int, spot: float, net_premium: float, rates: MarginRates, multiplier: float
) -> float:
    """Buying power a new group uses, in dollars: its requirement plus the debit it pays (less the credit it gets).

    ``legs`` per unit (an underlying leg in shares), ``net_premium`` in dollars per unit (> 0 debit).
    """
    options = [
        OptionPosition(None, leg.kind == "call", leg.strike, leg.quantity * units, leg.price or 0.0)
        for leg in legs
        if leg.strike is not None  # the option legs
    ]
    shares = sum(leg.quantity for leg in legs if not leg.is_option) * units
    return (
        book_requirement(options, spot, rates, multiplier)
        + rates.equity_rate * abs(shares) * spot
        + net_premium * units
    )


def _option_position(instrument_id: InstrumentId, quantity: float, premium: float = 0.0) -> OptionPosition:
    _, _, right, strike = parse_occ_symbol(instrument_id.symbol.value)
    return OptionPosition(instrument_id, right == "C", float(strike), quantity, premium)


class OptionsMarginModel(MarginModel):
    """Structure-aware option margin read from the cache (see the module docstring)."""

    def __init__(self, cache: CacheFacade, rates: MarginRates | None = None) -> None:
        self.cache = cache
        self.rates = rates or MarginRates()

    def calculate_margin_init(
        self,
        instrument: Instrument,
        quantity: Quantity,
        price: Price,
        leverage: Decimal,
        use_quote_for_inverse: bool = False,
    ) -> Money:
        """A working order: its maximum loss (requirement + debit to pay - credit to receive)."""
        qty = quantity.as_double()
        px = price.as_double()
        multiplier = instrument.multiplier.as_double()
        if is_generic_spread_id(instrument.id):
            leg_ids = generic_spread_id_to_list(instrument.id)
            legs = [_option_position(leg_id, ratio * qty) for leg_id, ratio in leg_ids]
            root = parse_occ_symbol(leg_ids[0][0].symbol.value)[0]  # a built spread may carry no underlying
            spot = self._spot(root, instrument.id.venue)
            required = book_requirement(legs, spot, self.rates, multiplier) + px * qty * multiplier
        elif isinstance(instrument, OptionContract):  # the side is not passed: the larger of buying and selling
            spot = self._spot(instrument.underlying, instrument.id.venue)
            naked = naked_requirement(_option_position(instrument.id, -qty, px), spot, self.rates, multiplier)
            required = max(px * qty * multiplier, naked)
        else:
            required = self.rates.equity_rate * px * qty * multiplier
        return Money(max(required, 0.0), instrument.quote_currency)

    def calculate_margin_maint(
        self,
        instrument: Instrument,
        side: PositionSide,
        quantity: Quantity,
        price: Price,
        leverage: Decimal,
        use_quote_for_inverse: bool = False,
    ) -> Money:
        """An open position: its share of its underlying's book requirement; the other legs are refreshed."""
        if not isinstance(instrument, OptionContract):
            px = price.as_double()
            return Money(
                self.rates.equity_rate * px * quantity.as_double() * instrument.multiplier.as_double(),
                instrument.quote_currency,
            )
        venue = instrument.id.venue
        book = self._book(instrument.underlying, venue)
        signed = quantity.as_double() * (1 if side == PositionSide.LONG else -1)
        book = [p for p in book if p.instrument_id != instrument.id] + [
            _option_position(instrument.id, signed, cache_mark(self.cache, instrument.id) or price.as_double()),
        ]
        shares = allocate(book, self._spot(instrument.underlying, venue), self.rates, instrument.multiplier.as_double())
        account = self.cache.account_for_venue(venue)
        if account is not None:
            for position in book:
                if position.instrument_id != instrument.id:
                    account.update_margin_maint(
                        position.instrument_id, Money(shares[position.instrument_id], instrument.quote_currency)
                    )
            self._clear_filled_spread_orders(account)
        return Money(shares[instrument.id], instrument.quote_currency)

    def refresh(self, underlying: str, venue: Venue) -> None:
        """Re-share ``underlying``'s open book among its legs and drop filled spreads' order margin (after a
        position closed: NautilusTrader asks the model nothing then)."""
        account = self.cache.account_for_venue(venue)
        if account is None:
            return
        book = self._book(underlying, venue)
        if book:
            instrument = self.cache.instrument(book[0].instrument_id)
            shares = allocate(book, self._spot(underlying, venue), self.rates, instrument.multiplier.as_double())
            for position in book:
                account.update_margin_maint(
                    position.instrument_id, Money(shares[position.instrument_id], instrument.quote_currency)
                )
        self._clear_filled_spread_orders(account)

    def _clear_filled_spread_orders(self, account: MarginAccount) -> None:
        """Drop the order margin of spreads with no open order left: NautilusTrader 1.231 does not
        recompute a spread's order margin after its last fill (the fills move the legs), so it would stay."""
        for instrument_id in list(account.margins_init()):
            if is_generic_spread_id(instrument_id) and not self.cache.orders_open(instrument_id=instrument_id):
                account.clear_margin_init(instrument_id)

    def _book(self, underlying: str, venue: Venue) -> list[OptionPosition]:
        """Net open option positions of ``underlying`` at ``venue`` (every strategy: the account's book)."""
        net: dict[InstrumentId, float] = {}
        for position in self.cache.positions_open(venue=venue):
            instrument = self.cache.instrument(position.instrument_id)
            if isinstance(instrument, OptionContract) and instrument.underlying == underlying:
                net[position.instrument_id] = net.get(position.instrument_id, 0.0) + position.signed_qty
        return [
            _option_position(i, q, cache_mark(self.cache, i) or 0.0)
            for i, q in sorted(net.items(), key=lambda kv: kv[0].value)
            if q
        ]

    def _spot(self, underlying: str, venue: Venue) -> float:
        return cache_mark(self.cache, InstrumentId.from_str(f"{underlying}.{venue}")) or 0.0


class OptionsMarginInstallerConfig(ActorConfig, frozen=True):
    """The venue whose account gets the model, and the Reg-T-like rates."""

    venue: str = "OPRA"
    naked_rate: float = 0.20
    naked_min_rate: float = 0.10
    equity_rate: float = 0.50


class OptionsMarginInstaller(Actor):
    """Sets :class:`OptionsMarginModel` on the venue's margin account when the run starts."""

    def on_start(self) -> None:
        config = self.config
        for name in ("naked_rate", "naked_min_rate", "equity_rate"):
            value = getattr(config, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
        account = self.portfolio.account(Venue(config.venue))
        if account is None or not account.is_margin_account:
            raise ValueError(f"venue {config.venue!r} has no margin account to set the options margin model on")
        rates = MarginRates(config.naked_rate, config.naked_min_rate, config.equity_rate)
        self.model = OptionsMarginModel(self.cache, rates)
        account.set_margin_model(self.model)
        self.msgbus.subscribe(ALL_POSITION_EVENTS, self._on_position_event)
        self.log.info(f"options margin model set on {account.id} ({rates})")

    def on_stop(self) -> None:
        """The model stays on the account for the report; closes are no longer followed."""
        self.msgbus.unsubscribe(ALL_POSITION_EVENTS, self._on_position_event)

    def _on_position_event(self, event: object) -> None:
        if not isinstance(event, PositionClosed):
            return
        instrument = self.cache.instrument(event.instrument_id)
        if isinstance(instrument, OptionContract):
            self.model.refresh(instrument.underlying, instrument.id.venue)

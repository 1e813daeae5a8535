"""Option chains from NautilusTrader instruments: strike and expiry selection, and binding legs to contracts.

A chain is built from the ``OptionContract`` instruments a ParquetDataCatalog or the engine's cache
holds (``OptionChain.from_instruments(catalog.instruments(), "SPY")`` or ``cache.instruments()``);
quotes, IVs and deltas can be attached later as :class:`Mark` values. Catalogue legs
(:mod:`hybrid.options.catalogue`) name strikes and expiries; :func:`bind` resolves them to listed
contracts and fails, naming the nearest listed strikes or expiries, when one is not listed.

How a bound strategy is executed (the execution itself is another issue):

- All option legs go as ONE order on ``option_instrument``. With two or more option legs it is an
  ``OptionSpread`` whose id is ``new_generic_spread_id([(leg_id, ratio), ...])``: the ratio is the
  leg's signed quantity (the id lists legs sorted by symbol, ``(n)`` long, ``((n))`` short), and
  buying one spread unit trades every leg by its ratio, so a credit structure has a negative spread
  price. With a single option leg (a naked put, a covered call's call) it is that ``OptionContract``.
- ``option_quantity`` is the signed number of ``option_instrument`` units per strategy unit: buy
  when positive, sell when negative. Catalogue legs have ratios with a greatest common divisor of
  1, so one spread unit is one strategy unit (``option_quantity == 1``). Hand-made legs whose
  ratios share a factor g (2 / -4) are bound as the reduced spread (1 / -2) with ``option_quantity == g``;
  legs naming one contract twice are netted.
- An underlying leg is not part of the spread (an ``OptionSpread`` holds options only). It is a
  separate order for ``underlying_quantity`` shares per unit on ``underlying_instrument``, the
  ``Equity`` listed on the options' venue (NautilusTrader's Greeks look it up there), tagged with
  the same position-group tag as the option order.
"""

from __future__ import annotations

import bisect
import copy
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache, reduce
from typing import Literal

from nautilus_trader.model.enums import OptionKind
from nautilus_trader.model.identifiers import InstrumentId, Symbol, new_generic_spread_id
from nautilus_trader.model.instruments import Equity, Instrument, OptionContract, OptionSpread

from hybrid.calendar.exchange_time import ns_new_york_date
from hybrid.options.catalogue.structure import format_number
from hybrid.options.legs import Leg

Right = Literal["call", "put"]
DeltaOf = Callable[[OptionContract], float | None]


class ChainError(ValueError):
    """A chain cannot give what was asked (not listed, out of range); the message is one line."""


@dataclass(frozen=True, slots=True)
class Mark:
    """Market facts attached to a contract: premium per share (e.g. the mid), implied vol, delta."""

    price: float | None = None
    iv: float | None = None
    delta: float | None = None


def contract_expiry(contract: OptionContract) -> dt.date:
    """The expiry date of a contract: its expiration instant as a New York calendar date."""
    return _expiry_date(contract.expiration_ns)


@lru_cache(maxsize=4096)
def _expiry_date(expiration_ns: int) -> dt.date:
    """Cached: a chain has a few expiration instants, and every market snapshot asks for each contract's."""
    return ns_new_york_date(expiration_ns)


def contract_right(contract: OptionContract) -> Right:
    return "call" if contract.option_kind == OptionKind.CALL else "put"


def option_terms(leg: Leg) -> tuple[dt.date, Right, float]:
    """An option leg's expiry, right and strike, the arguments of :meth:`OptionChain.contract`."""
    if leg.kind == "underlying" or leg.expiry is None or leg.strike is None:
        raise ValueError(f"an underlying leg has no expiry, right or strike: {leg}")
    return leg.expiry, leg.kind, leg.strike


def _neighbours[T: (Decimal, dt.date)](listed: Sequence[T], target: T) -> Sequence[T]:
    """The listed values just below and just above ``target`` (one of them at either end)."""
    i = bisect.bisect_left(listed, target)
    return listed[max(i - 1, 0) : i + 1]


class OptionChain:
    """The listed option contracts of one underlying on one venue, by expiry, right and strike."""

    def __init__(
        self,
        underlying: str,
        contracts: Iterable[OptionContract],
        underlying_instrument: Instrument | None = None,
    ) -> None:
        self.underlying = underlying
        self.underlying_instrument = underlying_instrument
        self._contracts: dict[tuple[dt.date, Right, Decimal], OptionContract] = {}
        strikes: dict[tuple[dt.date, Right], set[Decimal]] = {}
        for contract in contracts:
            key = (contract_expiry(contract), contract_right(contract))
            strike = contract.strike_price.as_decimal()
            self._contracts[(*key, strike)] = contract
            strikes.setdefault(key, set()).add(strike)
        venues = {c.id.venue for c in self._contracts.values()}
        if not venues:
            raise ChainError(f"{underlying}: a chain needs at least one option contract")
        if len(venues) != 1:
            raise ChainError(f"{underlying}: a chain needs options on one venue, got {sorted(map(str, venues))}")
        self.venue = venues.pop()
        self._strikes = {key: sorted(values) for key, values in strikes.items()}
        self.expiries: tuple[dt.date, ...] = tuple(sorted({expiry for expiry, _ in strikes}))
        self._marks: dict[InstrumentId, Mark] = {}

    @classmethod
    def from_instruments(cls, instruments: Iterable[Instrument], underlying: str) -> OptionChain:
        """The chain of ``underlying`` among any instruments; its ``Equity`` on the same venue, if present."""
        instruments = list(instruments)
        options = [i for i in instruments if isinstance(i, OptionContract)]
        contracts = [o for o in options if o.underlying == underlying]
        if not contracts:
            found = sorted({o.underlying for o in options}) or ["none"]
            raise ChainError(
                f"no OptionContract with underlying {underlying!r} among {len(instruments)} instruments "
                f"(underlyings found: {', '.join(found)})"
            )
        equity_id = InstrumentId(Symbol(underlying), contracts[0].id.venue)
        equity = next((i for i in instruments if isinstance(i, Equity) and i.id == equity_id), None)
        return cls(underlying, contracts, equity)

    def strikes(self, expiry: dt.date, right: Right) -> tuple[float, ...]:
        """Listed strikes for one expiry and right, ascending."""
        return tuple(float(k) for k in self._listed_strikes(expiry, right))

    def contract(self, expiry: dt.date, right: Right, strike: float) -> OptionContract:
        """The listed contract, or a :class:`ChainError` naming the nearest listed strikes."""
        listed = self._listed_strikes(expiry, right)
        key = Decimal(str(strike))
        contract = self._contracts.get((expiry, right, key))
        if contract is None:
            near = ", ".join(format_number(k) for k in _neighbours(listed, key))
            raise ChainError(
                f"{self.underlying}: strike {format_number(key)} is not listed for {right}s expiring "
                f"{expiry}; nearest listed: {near}"
            )
        return contract

    def leg_contract(self, leg: Leg) -> OptionContract:
        """The listed contract of an option leg (:meth:`contract`); a :class:`ChainError` for an underlying leg."""
        if leg.kind == "underlying" or leg.expiry is None or leg.strike is None:
            raise ChainError(f"{self.underlying}: an underlying leg has no option contract")
        return self.contract(leg.expiry, leg.kind, leg.strike)

    def unmarked(self) -> OptionChain:
        """This chain without its marks, sharing its contracts (read-only after construction)."""
        chain = copy.copy(self)
        chain._marks = {}
        return chain

    def attach_marks(self, marks: Mapping[InstrumentId, Mark]) -> None:
        """Attach (or replace) quotes/IVs/deltas by instrument id, e.g. from the cache's latest quotes."""
        self._marks.update(marks)

    def mark(self, instrument_id: InstrumentId) -> Mark | None:
        return self._marks.get(instrument_id)

    def expiry_by_dte(self, as_of: dt.date, min_dte: int, max_dte: int, target_dte: float | None = None) -> dt.date:
        """The listed expiry ``min_dte..max_dte`` days after ``as_of`` nearest ``target_dte`` (default: mid-window)."""
        if not 0 <= min_dte <= max_dte:
            raise ChainError(f"DTE window must satisfy 0 <= min_dte <= max_dte, got {min_dte}-{max_dte}")
        target = (min_dte + max_dte) / 2 if target_dte is None else target_dte
        in_window = [e for e in self.expiries if min_dte <= (e - as_of).days <= max_dte]
        if not in_window:
            before = [e for e in self.expiries if (e - as_of).days < min_dte][-1:]
            after = [e for e in self.expiries if (e - as_of).days > max_dte][:1]
            near = ", ".join(f"{e} ({(e - as_of).days} DTE)" for e in before + after)
            raise ChainError(
                f"{self.underlying}: no expiry {min_dte}-{max_dte} DTE from {as_of}; nearest listed: {near}"
            )
        return min(in_window, key=lambda e: (abs((e - as_of).days - target), e))

    def strike_by_atm_offset(self, expiry: dt.date, right: Right, spot: float, offset: int = 0) -> float:
        """The strike ``offset`` listed strikes above (+) or below (-) the one nearest ``spot``."""
        listed = self._listed_strikes(expiry, right)
        atm = min(range(len(listed)), key=lambda i: (abs(float(listed[i]) - spot), listed[i]))
        index = atm + offset
        if not 0 <= index < len(listed):
            raise ChainError(
                f"{self.underlying}: ATM offset {offset:+d} from {format_number(listed[atm])} leaves the "
                f"{len(listed)} listed {right} strikes for {expiry} "
                f"({format_number(listed[0])}-{format_number(listed[-1])})"
            )
        return float(listed[index])

    def strike_by_width(self, expiry: dt.date, right: Right, from_strike: float, width: float) -> float:
        """The listed strike nearest ``from_strike + width`` on the width's side (ties: the narrower)."""
        if width == 0:
            raise ChainError("width must be non-zero: positive for a higher strike, negative for a lower one")
        origin = Decimal(str(from_strike))
        side = [float(k) for k in self._listed_strikes(expiry, right) if (k > origin if width > 0 else k < origin)]
        if not side:
            where = "above" if width > 0 else "below"
            raise ChainError(
                f"{self.underlying}: no {right} strike listed {where} {format_number(from_strike)} for {expiry}"
            )
        target = from_strike + width
        return min(side, key=lambda k: (abs(k - target), abs(k - from_strike)))

    def strike_by_delta(self, expiry: dt.date, right: Right, target: float, delta: DeltaOf | None = None) -> float:
        """The strike whose |delta| is nearest |target| (0.25 and -0.25 both mean the 25-delta).

        ``delta`` gives a contract's delta (e.g. from the analytics or the Greeks calculator); by
        default the attached marks' deltas are used. Contracts without a delta are skipped.
        """
        if not 0 < abs(target) < 1:
            raise ChainError(f"delta target must be between 0 and 1 in size, got {target}")
        delta_of = delta or (lambda c: (self.mark(c.id) or Mark()).delta)
        scored = []
        for strike in self._listed_strikes(expiry, right):
            d = delta_of(self._contracts[(expiry, right, strike)])
            if d is not None:
                scored.append((abs(abs(d) - abs(target)), strike))
        if not scored:
            raise ChainError(
                f"{self.underlying}: no {right} delta known for {expiry}; attach marks with deltas or pass delta="
            )
        return float(min(scored)[1])

    def priced(self, leg: Leg, instrument_id: InstrumentId) -> Leg:
        """``leg`` with the attached mark's price and IV filled in where the leg has none."""
        mark = self.mark(instrument_id)
        if mark is None:
            return leg
        return replace(
            leg,
            price=mark.price if leg.price is None else leg.price,
            iv=mark.iv if leg.iv is None else leg.iv,
        )

    def _listed_strikes(self, expiry: dt.date, right: Right) -> list[Decimal]:
        if right not in ("call", "put"):
            raise ChainError(f"right must be 'call' or 'put', got {right!r}")
        if expiry not in self.expiries:
            near = ", ".join(str(e) for e in _neighbours(self.expiries, expiry))
            raise ChainError(f"{self.underlying}: expiry {expiry} is not listed; nearest listed: {near}")
        listed = self._strikes.get((expiry, right))
        if not listed:
            raise ChainError(f"{self.underlying}: no {right}s listed for {expiry}")
        return listed


def make_option_spread(
    legs: Sequence[tuple[OptionContract, int]], strategy_type: str = "SPREAD", ts_init: int = 0
) -> OptionSpread:
    """An ``OptionSpread`` over 2+ contracts with signed ratios, priced like its first leg.

    Mirrors what NautilusTrader's backtest data client builds for a generic spread id: the legs'
    currency, tick, multiplier and lot size, expiring with the earliest leg.
    """
    contracts = [contract for contract, _ in legs]
    if len(contracts) < 2:
        raise ChainError(f"a spread needs at least 2 option legs, got {len(contracts)}")
    if len({c.underlying for c in contracts}) > 1 or len({str(c.multiplier) for c in contracts}) > 1:
        raise ChainError("spread legs must share one underlying and one contract multiplier")
    spread_id = new_generic_spread_id([(contract.id, ratio) for contract, ratio in legs])
    first = contracts[0]
    return OptionSpread(
        instrument_id=spread_id,
        raw_symbol=spread_id.symbol,
        asset_class=first.asset_class,
        currency=first.quote_currency,
        price_precision=first.price_precision,
        price_increment=first.price_increment,
        multiplier=first.multiplier,
        lot_size=first.lot_size,
        underlying=first.underlying,
        strategy_type=strategy_type,
        activation_ns=max(c.activation_ns for c in contracts),
        expiration_ns=min(c.expiration_ns for c in contracts),
        ts_event=ts_init,
        ts_init=ts_init,
        margin_init=first.margin_init,
        margin_maint=first.margin_maint,
        maker_fee=first.maker_fee,
        taker_fee=first.taker_fee,
        exchange=first.exchange,
    )


@dataclass(frozen=True)
class BoundLeg:
    """A leg and the instrument it trades: an ``OptionContract``, or the ``Equity`` for the underlying."""

    leg: Leg
    instrument: Instrument


@dataclass(frozen=True)
class BoundStrategy:
    """Legs resolved to listed instruments, and what to order for one unit (see the module docstring)."""

    legs: tuple[BoundLeg, ...]
    option_instrument: OptionSpread | OptionContract | None
    option_quantity: int
    option_ratios: tuple[tuple[InstrumentId, int], ...]
    underlying_instrument: Instrument | None
    underlying_quantity: int


def _describe(leg: Leg) -> str:
    if leg.kind == "underlying":
        return f"underlying {leg.quantity:+d} shares"
    expiry, right, strike = option_terms(leg)
    return f"{right} {format_number(strike)} {expiry} {leg.quantity:+d}"


def bind(legs: Sequence[Leg], chain: OptionChain, strategy_type: str = "SPREAD", ts_init: int = 0) -> BoundStrategy:
    """Resolve every leg to its listed instrument; ``strategy_type`` names the spread (e.g. the catalogue name)."""
    if not legs:
        raise ChainError("no legs to bind")
    bound: list[BoundLeg] = []
    ratios: dict[InstrumentId, int] = {}
    contracts: dict[InstrumentId, OptionContract] = {}
    shares = 0
    for number, leg in enumerate(legs, 1):
        if leg.kind == "underlying":
            if chain.underlying_instrument is None:
                raise ChainError(
                    f"leg {number} ({_describe(leg)}): the chain has no Equity {chain.underlying}.{chain.venue}; "
                    "load the underlying with its options"
                )
            instrument = chain.underlying_instrument
            shares += leg.quantity
        else:
            try:
                instrument = chain.leg_contract(leg)
            except ChainError as exc:
                raise ChainError(f"leg {number} ({_describe(leg)}): {exc}") from None
            contracts[instrument.id] = instrument
            ratios[instrument.id] = ratios.get(instrument.id, 0) + leg.quantity
        bound.append(BoundLeg(chain.priced(leg, instrument.id), instrument))

    net = {instrument_id: ratio for instrument_id, ratio in ratios.items() if ratio != 0}
    if ratios and not net:
        raise ChainError("the option legs cancel out: every contract nets to zero")
    option_instrument: OptionSpread | OptionContract | None = None
    quantity = 0
    if len(net) == 1:
        ((instrument_id, quantity),) = net.items()
        option_instrument = contracts[instrument_id]
        net = {instrument_id: 1 if quantity > 0 else -1}
    elif net:
        quantity = reduce(math.gcd, (abs(r) for r in net.values()))
        net = {instrument_id: ratio // quantity for instrument_id, ratio in net.items()}
        option_instrument = make_option_spread(
            [(contracts[i], ratio) for i, ratio in net.items()], strategy_type, ts_init
        )
    return BoundStrategy(
        legs=tuple(bound),
        option_instrument=option_instrument,
        option_quantity=quantity,
        option_ratios=tuple(net.items()),
        underlying_instrument=chain.underlying_instrument if shares else None,
        underlying_quantity=shares,
    )

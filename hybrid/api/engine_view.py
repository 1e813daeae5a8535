"""How the API sees the engine: the :class:`EngineView` protocol and its implementation over a Cache.

The API never touches NautilusTrader objects itself; it asks an ``EngineView``, which answers in the
models of :mod:`hybrid.api.schemas`. :class:`CacheEngineView` answers from a NautilusTrader ``Cache``,
``Clock`` and ``Portfolio``: what a live ``TradingNode`` (``CacheEngineView.from_kernel(node.kernel)``)
or a finished backtest engine holds. Its methods read the cache, so call them on the engine's event
loop (the API's handlers run there in the live node).

Marks and Greeks are :mod:`hybrid.valuation`'s: a quote's mid by the one mark rule
(:func:`hybrid.valuation.marks.mark`), each contract's mark inverted to an implied volatility and
per-share Greeks by :func:`hybrid.valuation.greeks.value_contracts` (Black-Scholes-Merton, the
underlying's mark as spot, ``rate`` and ``dividend`` yield continuous, time to the expiry's 16:00 New
York close from the engine clock), held Greeks and the portfolio's by the same module.

Engine events become WebSocket messages through :func:`fill_event` and :func:`position_event`: the live
node's hooks call ``hub.publish(fill_event(event))``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.component import Clock, MessageBus
from nautilus_trader.model.events import OrderFilled, PositionEvent
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import Equity, Instrument, OptionContract
from nautilus_trader.model.position import Position as NautilusPosition
from nautilus_trader.portfolio.base import PortfolioFacade
from nautilus_trader.risk.engine import RiskEngine
from nautilus_trader.system.kernel import NautilusKernel
from nautilus_trader.trading.strategy import Strategy

from hybrid.api.schemas import (
    AccountBalance,
    Breaker,
    EngineHealth,
    Greeks,
    Group,
    GroupLeg,
    OptionQuote,
    Portfolio,
    Position,
    Quote,
    RiskLimit,
    RiskRefusal,
    RiskState,
    StressGrid,
    StressGroup,
)
from hybrid.api.ws import HubEvent
from hybrid.calendar.exchange_time import ns_new_york
from hybrid.options.chain import OptionChain, Right, contract_expiry, contract_right
from hybrid.options.legs import Leg
from hybrid.options.pricing import years_to_expiry
from hybrid.risk import CircuitBreaker, ResetBreaker, breaker_endpoint
from hybrid.risk.account import account_risk
from hybrid.risk.limits import Refusal
from hybrid.tracking import PositionGroup
from hybrid.tracking.book import group_book
from hybrid.trading import OpenGroup, propose
from hybrid.trading.market import untradeable
from hybrid.valuation import greeks as valuation
from hybrid.valuation.greeks import ContractValue, held_greeks, portfolio_greeks, value_contracts, value_held
from hybrid.valuation.marks import cache_mark, quote_sides
from hybrid.valuation.stress import StressLegs, stress_grid


class EngineView(Protocol):
    """What the API reads from the engine. ``rate`` and ``dividend`` are the market parameters its
    Greeks use (continuous, e.g. 0.045 and 0.013)."""

    rate: float
    dividend: float

    def now(self) -> dt.datetime:
        """The engine clock, timezone-aware UTC."""
        ...

    def underlyings(self) -> list[str]:
        """Underlyings that have listed options, sorted."""
        ...

    def chain(self, underlying: str) -> OptionChain | None:
        """The listed contracts of ``underlying``, or None when it has none."""
        ...

    def underlying_quote(self, underlying: str) -> Quote | None: ...

    def option_quotes(
        self, underlying: str, expiry: dt.date | None = None, right: Right | None = None
    ) -> list[OptionQuote]:
        """Listed contracts (optionally of one expiry and right) with quotes, IV and Greeks, sorted by
        expiry, right and strike."""
        ...

    def untradeable(self, contract: OptionContract) -> str | None:
        """Why the engine would not trade ``contract`` now (:func:`hybrid.trading.market.untradeable`: not
        active, or no two-sided quote), or None when it would."""
        ...

    def leg_quotes(self, underlying: str, legs: Sequence[Leg]) -> list[Quote | None]:
        """Each leg's market: an :class:`OptionQuote` for an option leg (which must be listed), the
        underlying's quote for an underlying leg, None where there is no quote."""
        ...

    def groups(self) -> list[Group]:
        """Every position group, from every source, in the order they were opened (no management state)."""
        ...

    def group(self, group_id: str) -> Group | None:
        """One group as :meth:`groups` gives it, or None for an unknown id."""
        ...

    def positions(self) -> list[Position]:
        """Open positions."""
        ...

    def portfolio(self) -> Portfolio: ...

    def health(self) -> EngineHealth: ...

    def pre_trade(self, command: OpenGroup) -> Refusal | None:
        """The account gate's refusal of opening ``command`` now (recorded as the desk's would be), or None
        when it is within every limit, cannot be priced yet (the desk then decides) or the run has no gate."""
        ...

    def risk(self) -> RiskState:
        """Every limit with its usage, the trading state and the breakers."""
        ...

    def reset_breakers(self, by: str) -> list[str]:
        """Reset every tripped breaker through its endpoint; the ids of the strategies reset."""
        ...

    def stress(self, moves: Sequence[float], vol_shifts: Sequence[float], at: dt.date | None) -> StressGrid:
        """The open groups' P&L under each move and vol shift, now or at ``at``'s close."""
        ...


def _utc(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)


LISTING_CHECK_S = 1.0  # how often the view looks for instruments added to the cache


@dataclass
class _Listing:
    """The cache's option contracts by underlying, and their chains, for one count of instruments."""

    count: int
    checked: float = 0.0  # time.monotonic() of the last count
    options: dict[str, list[OptionContract]] = field(default_factory=lambda: defaultdict(list))
    chains: dict[str, OptionChain] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Listed:
    """A group's API model as last listed: built from the book's ``source`` at its ``pnl`` and ``greeks``."""

    source: PositionGroup
    pnl: float | None
    greeks: valuation.Greeks | None
    model: Group


class CacheEngineView:
    """An :class:`EngineView` over a NautilusTrader cache, clock and portfolio (see the module docstring).

    ``msgbus`` is the kernel's: the groups are its group book's (:func:`hybrid.tracking.book.group_book`),
    kept from the order events, so a request costs what changed, not every order of the session.
    ``risk_engine`` (optional) gives the trading state shown by the health route; ``strategies`` lists the
    running strategies, whose circuit breakers (a ``breaker`` attribute) the risk route shows and resets.
    """

    def __init__(
        self,
        cache: CacheFacade,
        clock: Clock,
        portfolio: PortfolioFacade,
        msgbus: MessageBus,
        *,
        risk_engine: RiskEngine | None = None,
        strategies: Callable[[], Sequence[Strategy]] = tuple,
        rate: float = 0.0,
        dividend: float = 0.0,
    ) -> None:
        self._msgbus = msgbus
        self._strategies = strategies
        self._cache = cache
        self._clock = clock
        self._portfolio = portfolio
        self._book = group_book(cache, msgbus)
        self._risk_engine = risk_engine
        self.rate = rate
        self.dividend = dividend
        self._listing_memo = _Listing(count=-1, checked=-LISTING_CHECK_S)
        self._listed: dict[str, _Listed] = {}  # group id -> its model as last listed

    @classmethod
    def from_kernel(cls, kernel: NautilusKernel, *, rate: float = 0.0, dividend: float = 0.0) -> CacheEngineView:
        """The view of a ``NautilusKernel`` (``node.kernel`` of a TradingNode, ``engine.kernel`` of a backtest)."""
        return cls(
            kernel.cache,
            kernel.clock,
            kernel.portfolio,
            kernel.msgbus,
            risk_engine=kernel.risk_engine,
            strategies=kernel.trader.strategies,
            rate=rate,
            dividend=dividend,
        )

    # -- instruments and quotes ---------------------------------------------------------------

    def now(self) -> dt.datetime:
        return _utc(self._clock.timestamp_ns())

    def _listing(self) -> _Listing:
        """The indexed instruments; re-indexed when their number changed, looked at once a second
        (counting them sorts every id, too slow to do on each request)."""
        listing = self._listing_memo
        now = time.monotonic()
        if now - listing.checked < LISTING_CHECK_S:
            return listing
        listing.checked = now
        count = len(self._cache.instrument_ids())
        if count != listing.count:
            listing = _Listing(count=count, checked=now)
            for instrument in self._cache.instruments():
                if isinstance(instrument, OptionContract):
                    listing.options[instrument.underlying].append(instrument)
            self._listing_memo = listing
        return listing

    def underlyings(self) -> list[str]:
        return sorted(self._listing().options)

    def chain(self, underlying: str) -> OptionChain | None:
        listing = self._listing()
        contracts = listing.options.get(underlying)
        if not contracts:
            return None
        if underlying not in listing.chains:
            venue = contracts[0].id.venue
            equity = self._cache.instrument(InstrumentId(Symbol(underlying), venue))
            stock = equity if isinstance(equity, Equity) else None
            listing.chains[underlying] = OptionChain(underlying, contracts, stock)
        return listing.chains[underlying]

    def _quote(self, instrument_id: InstrumentId) -> Quote | None:
        tick = self._cache.quote_tick(instrument_id)
        if tick is None:
            return None
        sides = quote_sides(tick)
        return Quote(
            instrument_id=instrument_id.value,
            bid=sides.bid,
            ask=sides.ask,
            mid=sides.mid,
            bid_size=tick.bid_size.as_double(),
            ask_size=tick.ask_size.as_double(),
            ts=_utc(tick.ts_event),
        )

    def underlying_quote(self, underlying: str) -> Quote | None:
        chain = self.chain(underlying)
        if chain is None or chain.underlying_instrument is None:
            return None
        return self._quote(chain.underlying_instrument.id)

    def _spot(self, underlying: str) -> float | None:
        quote = self.underlying_quote(underlying)
        return None if quote is None else quote.mid

    def _priced(self, contracts: Sequence[OptionContract], spot: float | None) -> list[OptionQuote]:
        """Quotes, implied vols and per-share Greeks of contracts of one underlying, in one array pass."""
        quotes = [self._quote(contract.id) for contract in contracts]
        marks = [None if quote is None else quote.mid for quote in quotes]
        values = value_contracts(contracts, marks, spot, self._clock.timestamp_ns(), self.rate, self.dividend)
        empty = {"bid": None, "ask": None, "mid": None, "bid_size": None, "ask_size": None, "ts": None}
        return [
            OptionQuote(
                **(quote.model_dump() if quote is not None else {**empty, "instrument_id": contract.id.value}),
                expiry=contract_expiry(contract),
                right=contract_right(contract),
                strike=float(contract.strike_price),
                multiplier=float(contract.multiplier),
                iv=value.iv,
                iv_note="no quote" if quote is None else value.note,
                greeks=_api_greeks(value.greeks),
            )
            for contract, quote, value in zip(contracts, quotes, values)
        ]

    def option_quotes(
        self, underlying: str, expiry: dt.date | None = None, right: Right | None = None
    ) -> list[OptionQuote]:
        contracts = [
            contract
            for contract in self._listing().options.get(underlying, ())
            if (expiry is None or contract_expiry(contract) == expiry)
            and (right is None or contract_right(contract) == right)
        ]
        contracts.sort(key=lambda c: (c.expiration_ns, contract_right(c), float(c.strike_price)))
        return self._priced(contracts, self._spot(underlying))

    def untradeable(self, contract: OptionContract) -> str | None:
        return untradeable(self._cache, contract, self._clock.timestamp_ns())

    def leg_quotes(self, underlying: str, legs: Sequence[Leg]) -> list[Quote | None]:
        chain = self.chain(underlying)
        if chain is None:
            raise ValueError(f"no option chain is loaded for {underlying}")
        contracts = [chain.leg_contract(leg) for leg in legs if leg.is_option]
        priced = iter(self._priced(contracts, self._spot(underlying)))
        underlying_quote = self.underlying_quote(underlying)
        return [next(priced) if leg.is_option else underlying_quote for leg in legs]

    def _values(self, instrument_ids: Iterable[InstrumentId]) -> dict[InstrumentId, ContractValue]:
        """The option contracts among ``instrument_ids`` valued at their marks."""
        return value_held(self._cache, instrument_ids, self._clock.timestamp_ns(), self.rate, self.dividend)

    # -- groups, positions, portfolio ---------------------------------------------------------

    def groups(self) -> list[Group]:
        return self._api_groups(list(self._book.groups()))

    def group(self, group_id: str) -> Group | None:
        group = self._book.get(group_id)
        return None if group is None else self._api_groups([group])[0]

    def _api_groups(self, book: Sequence[PositionGroup]) -> list[Group]:
        """The API's groups, their legs valued in one pass over every held contract.

        A group's model is built (and validated) once per build of the group by the book, which makes a new
        :class:`PositionGroup` when the group's orders change; while the book's object stays, only the marks
        can change, so the model is copied with the new P&L and Greeks, or given again when those are the same
        (a closed group's always are). Listing hundreds of groups then costs little more than their Greeks.
        """
        values = self._values(leg.instrument_id for group in book for leg in group.legs if leg.quantity != 0)
        groups = []
        for group in book:
            total: valuation.Greeks | None = valuation.ZERO_GREEKS
            for state in group.legs:
                held = held_greeks(self._cache.instrument(state.instrument_id), float(state.quantity), values)
                total = None if held is None or total is None else total + held
            listed = self._listed.get(group.group_id)
            if listed is None or listed.source is not group:
                listed = _Listed(group, group.pnl, total, self._api_group(group, total))
            elif listed.pnl != group.pnl or listed.greeks != total:
                marks = {"pnl": group.reported_pnl(), "greeks": _api_greeks(total)}
                listed = _Listed(group, group.pnl, total, listed.model.model_copy(update=marks))
            self._listed[group.group_id] = listed
            groups.append(listed.model)
        return groups

    def _api_group(self, group: PositionGroup, greeks: valuation.Greeks | None) -> Group:
        legs = []
        underlying = None
        for state in group.legs:
            leg_instrument = self._cache.instrument(state.instrument_id)
            legs.append(GroupLeg(**state.to_dict(), **_leg_terms(leg_instrument)))
            underlying = underlying or _underlying_of(leg_instrument)
        data = group.to_dict()
        data["legs"] = legs
        return Group(**data, underlying=underlying, greeks=_api_greeks(greeks))

    def _position(self, position: NautilusPosition, values: Mapping[InstrumentId, ContractValue]) -> Position:
        instrument = self._cache.instrument(position.instrument_id)
        quote = self._quote(position.instrument_id)
        mark = quote.mid if quote is not None else None
        unrealized = None
        if mark is not None and instrument is not None:
            unrealized = position.unrealized_pnl(instrument.make_price(mark)).as_double()
        return Position(
            position_id=position.id.value,
            instrument_id=position.instrument_id.value,
            strategy_id=position.strategy_id.value,
            side=position.side.name,
            quantity=position.signed_qty,
            avg_px_open=position.avg_px_open,
            mark=mark,
            unrealized_pnl=unrealized,
            realized_pnl=position.realized_pnl.as_double() if position.realized_pnl is not None else 0.0,
            greeks=_api_greeks(held_greeks(instrument, position.signed_qty, values)),
            opened_at=_utc(position.ts_opened),
        )

    def positions(self) -> list[Position]:
        open_positions = self._cache.positions_open()
        values = self._values(position.instrument_id for position in open_positions)
        return [self._position(position, values) for position in open_positions]

    def portfolio(self) -> Portfolio:
        positions = self.positions()
        realized = 0.0
        currency = "USD"
        for instrument_id in sorted({p.instrument_id for p in self._cache.positions()}, key=str):
            money = self._portfolio.realized_pnl(instrument_id)
            if money is not None:
                realized += money.as_double()
                currency = money.currency.code
        unrealized = sum(p.unrealized_pnl for p in positions if p.unrealized_pnl is not None)
        book = portfolio_greeks(self._cache, self._clock.timestamp_ns(), self.rate, self.dividend)
        return Portfolio(
            as_of=self.now(),
            currency=currency,
            greeks=Greeks.model_validate(book.greeks, from_attributes=True),
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            total_pnl=realized + unrealized,
            open_positions=len(positions),
            unpriced_positions=sum(1 for p in positions if p.unrealized_pnl is None),
            open_groups=len(self._book.open_groups()),
            accounts=[
                AccountBalance(
                    account_id=account.id.value,
                    currency=balance.currency.code,
                    total=balance.total.as_double(),
                    locked=balance.locked.as_double(),
                    free=balance.free.as_double(),
                )
                for account in sorted(self._cache.accounts(), key=lambda a: a.id.value)
                for balance in account.balances().values()
            ],
        )

    def health(self) -> EngineHealth:
        state = self._risk_engine.trading_state if self._risk_engine is not None else None
        return EngineHealth(
            engine_time=self.now(),
            trading_state=state.name if state is not None else None,
            instruments=self._listing().count,
            underlyings=self.underlyings(),
            open_positions=self._cache.positions_open_count(),
        )

    # -- risk ------------------------------------------------------------------------------------

    def pre_trade(self, command: OpenGroup) -> Refusal | None:
        gate = account_risk(self._msgbus)
        if gate is None:
            return None
        now = self._clock.timestamp_ns()
        proposed = propose(self._cache, command, "pre-trade", gate.venue, now, self.rate, self.dividend)
        if isinstance(proposed, str):
            return None
        proposal, _ = proposed
        return gate.check(command.source, command.structure, command.units, proposal.risk())

    def _breakers(self) -> list[tuple[str, CircuitBreaker]]:
        found = ((str(s.id), getattr(s, "breaker", None)) for s in self._strategies())
        return [(strategy_id, b) for strategy_id, b in found if isinstance(b, CircuitBreaker)]

    def risk(self) -> RiskState:
        gate = account_risk(self._msgbus)
        state = self._risk_engine.trading_state if self._risk_engine is not None else None
        breakers = [
            Breaker(
                strategy_id=strategy_id,
                tripped=breaker.tripped,
                reason=breaker.tripped_reason,
                tripped_at=_utc(breaker.trips[-1][0]) if breaker.tripped and breaker.trips else None,
                state=breaker.config.state,
                reset=breaker.config.reset,
                trips=len(breaker.trips),
            )
            for strategy_id, breaker in self._breakers()
        ]
        refusals = [] if gate is None else gate.refusals[-RISK_REFUSALS_SHOWN:]
        return RiskState(
            trading_state=state.name if state is not None else None,
            gate=gate is not None,
            limits=[] if gate is None else [RiskLimit(**asdict(row)) for row in gate.usage()],
            breakers=breakers,
            refusals=[
                RiskRefusal(**{k: v for k, v in asdict(r).items() if k != "ts_ns"}, at=_utc(r.ts_ns)) for r in refusals
            ],
        )

    def reset_breakers(self, by: str) -> list[str]:
        reset = []
        for strategy_id, breaker in self._breakers():
            endpoint = breaker_endpoint(strategy_id)
            if breaker.tripped and endpoint in self._msgbus.endpoints():
                self._msgbus.send(endpoint, ResetBreaker(requested_by=by))
                reset.append(strategy_id)
        return reset

    def stress(self, moves: Sequence[float], vol_shifts: Sequence[float], at: dt.date | None) -> StressGrid:
        now_ns = self._clock.timestamp_ns()
        groups = self._book.open_groups()
        held = [(group, state) for group in groups for state in group.legs if state.quantity != 0]
        values = self._values(state.instrument_id for _, state in held)
        rows: dict[str, list[tuple]] = {}
        unpriced: set[str] = set()
        for group, state in held:
            row = _stress_row(self._cache, state.instrument_id, float(state.quantity), values, now_ns)
            if row is None:
                unpriced.add(group.group_id)
            else:
                rows.setdefault(group.group_id, []).append(row)
        priced = [group for group in groups if group.group_id not in unpriced and group.group_id in rows]
        table = [(index, *row) for index, group in enumerate(priced) for row in rows[group.group_id]]
        move_array, shift_array = np.asarray(moves, dtype=float), np.asarray(vol_shifts, dtype=float)
        horizon = 0.0 if at is None else max(years_to_expiry(at, ns_new_york(now_ns)), 0.0)
        if table:
            columns = list(zip(*table))
            legs = StressLegs(*(np.asarray(column) for column in columns))
            grid = stress_grid(legs, len(priced), move_array, shift_array, horizon, self.rate, self.dividend)
        else:
            grid = np.zeros((0, move_array.size, shift_array.size))
        return StressGrid(
            as_of=self.now(),
            at=at,
            moves=list(moves),
            vol_shifts=list(vol_shifts),
            book=np.round(grid.sum(axis=0), 2).tolist(),
            groups=[
                StressGroup(group_id=g.group_id, source=g.source, structure=g.structure, pnl=np.round(p, 2).tolist())
                for g, p in zip(priced, grid)
            ],
            unpriced=sorted(unpriced),
        )


RISK_REFUSALS_SHOWN = 50  # the latest refusals the risk route lists


def _stress_row(
    cache: CacheFacade,
    instrument_id: InstrumentId,
    quantity: float,
    values: Mapping[InstrumentId, ContractValue],
    now_ns: int,
) -> tuple | None:
    """One held leg as a row of :class:`hybrid.valuation.stress.StressLegs` (after its group index), None when
    it has no mark or no underlying price."""
    instrument = cache.instrument(instrument_id)
    mark = cache_mark(cache, instrument_id)
    if isinstance(instrument, Equity):
        if mark is None:
            return None
        return (False, False, 0.0, 0.0, 0.0, quantity, mark, mark)
    if not isinstance(instrument, OptionContract) or mark is None:
        return None
    spot = cache_mark(cache, valuation.underlying_id(instrument))
    value = values.get(instrument_id)
    if spot is None or value is None:
        return None
    years = max(years_to_expiry(contract_expiry(instrument), ns_new_york(now_ns)), 0.0)
    weight = quantity * float(instrument.multiplier)
    is_call = contract_right(instrument) == "call"
    return (True, is_call, float(instrument.strike_price), years, value.iv or 0.0, weight, mark, spot)


def _api_greeks(greeks: valuation.Greeks | None) -> Greeks | None:
    return None if greeks is None else Greeks.model_validate(greeks, from_attributes=True)


def _underlying_of(instrument: Instrument | None) -> str | None:
    """The underlying symbol of a leg instrument: an option's underlying, or the equity itself."""
    if isinstance(instrument, OptionContract):
        return instrument.underlying
    if isinstance(instrument, Equity):
        return instrument.id.symbol.value
    return None


def _leg_terms(instrument: Instrument | None) -> dict:
    if isinstance(instrument, OptionContract):
        return {
            "kind": contract_right(instrument),
            "strike": float(instrument.strike_price),
            "expiry": contract_expiry(instrument),
        }
    if isinstance(instrument, Equity):
        return {"kind": "underlying"}
    return {}


def fill_event(fill: OrderFilled) -> HubEvent:
    """A WebSocket ``fill`` message from an engine fill (spread-level and leg fills alike)."""
    return HubEvent(
        "fill",
        {
            "client_order_id": fill.client_order_id.value,
            "venue_order_id": fill.venue_order_id.value,
            "trade_id": fill.trade_id.value,
            "strategy_id": fill.strategy_id.value,
            "instrument_id": fill.instrument_id.value,
            "side": fill.order_side.name,
            "quantity": fill.last_qty.as_double(),
            "price": fill.last_px.as_double(),
            "commission": fill.commission.as_double() if fill.commission is not None else 0.0,
            "ts_event": fill.ts_event,
        },
    )


def position_event(event: PositionEvent) -> HubEvent:
    """A WebSocket ``position`` message from a PositionOpened / PositionChanged / PositionClosed event."""
    return HubEvent(
        "position",
        {
            "event": type(event).__name__,
            "position_id": event.position_id.value,
            "instrument_id": event.instrument_id.value,
            "strategy_id": event.strategy_id.value,
            "side": event.side.name,
            "quantity": event.signed_qty,
            "avg_px_open": event.avg_px_open,
            "realized_pnl": event.realized_pnl.as_double() if event.realized_pnl is not None else 0.0,
            "ts_event": event.ts_event,
        },
    )

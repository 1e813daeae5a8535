"""Autonomous IV-rank strategy: sell premium when implied vol is rich, buy a cheap butterfly when it is middling.

Once a trading day, inside the New York entry window, the strategy ranks today's 30-day ATM implied
vol against the trailing year (:mod:`hybrid.options.ivrank`) and looks the rank up in its regime
table, at the end of the instant of the underlying's first quote in the window (once that instant's option
quotes are in: docs/backtest.md, "Decisions and the market of their instant"). The default table:

    IV rank (50, 100]  iron_condor     short strikes at the 16-delta put and call, wings ``wing_width`` away
    IV rank (30, 50]   call_butterfly  body at the money, wings ``butterfly_wing_width`` away
    IV rank [0, 30]    no entry

Each regime names a catalogue structure and one strike rule per strike parameter (the JSON of
:class:`hybrid.orders.structures.RuleStructure`: ``{"by": "delta", "delta": 0.16}``,
``{"by": "atm_offset", "steps": 0}``, ``{"by": "width", "from_strike": "...", "points": 5}``); the
expiry is the listed one ``min_dte``-``max_dte`` days out. Size: as many units as keep the
group's maximum loss within ``risk_per_position`` of marked equity (at most ``max_units``).

IV history: a year of daily :class:`hybrid.options.iv_data.AtmImpliedVol` is requested from the
catalog at start (the runner registers it as the data engine's catalog), each session's record
arrives as data at its close, and today's value is computed from the chain's quotes (the same
vectorised IVs that give the deltas), so the strategy runs the same way in a live node.

Orders, balancing, expiry and risk go through the shared machinery: :class:`hybrid.trading.GroupTrader`
(entries as one spread order at mid with a concession, or through an ExecAlgorithm; tags with
``source=autonomous``; leg repairs; groups closed ``close_days_before_expiry`` sessions before expiry),
its gate :func:`hybrid.risk.check_entry` (open groups, portfolio |delta| and |vega|, loss per group,
buying power) and :class:`hybrid.risk.CircuitBreaker` (daily loss, losing streak, rejections ->
trading state REDUCING/HALTED). The strategy's only exit is the close before expiry: profit taking,
stops and rolls are the bot manager's (:mod:`hybrid.management.bot_manager`, which sends its closes and
rolls to this strategy's command endpoint; configs/demo.toml runs it over the autonomous groups), so a
run has one rule and one unit for them.
"""

from __future__ import annotations

import datetime as dt
import functools
from datetime import timedelta

import msgspec
from nautilus_trader.common.config import NautilusConfig
from nautilus_trader.common.events import TimeEvent
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import DataType, QuoteTick
from nautilus_trader.model.enums import TradingState
from nautilus_trader.model.events import OrderEvent, OrderFilled
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Symbol, Venue
from nautilus_trader.trading.strategy import Strategy
from pydantic import ValidationError

from hybrid.calendar.exchange_time import ns_new_york, ns_new_york_date
from hybrid.nautilus_compat.instant_end import InstantEnd
from hybrid.options.analytics import analyze
from hybrid.options.catalogue import get_strategy
from hybrid.options.chain import ChainError
from hybrid.options.iv_data import IV_DATA_CLIENT, IV_HISTORY_CLIENT, AtmImpliedVol
from hybrid.options.ivrank import TRADING_DAYS, iv_rank
from hybrid.options.legs import Leg
from hybrid.orders.structures import RuleStructure
from hybrid.risk import (
    BookState,
    CircuitBreaker,
    CircuitBreakerConfig,
    ResetBreaker,
    RiskLimitsConfig,
    SetTradingState,
    breaker_endpoint,
    check_entry,
    request_trading_state,
)
from hybrid.tracking import PositionGroup
from hybrid.tracking.notices import record_notice
from hybrid.trading import (
    EntryProposal,
    GroupTrader,
    GroupTradingConfig,
    MarketSnapshot,
    OpenGroup,
    market_snapshot,
    parse_time,
    resolve_rules,
)
from hybrid.valuation.greeks import portfolio_greeks
from hybrid.valuation.pnl import marked_equity

SOURCE = "autonomous"
FALLBACK_VOL = 0.2  # prices legs without an implied vol of their own, when no ATM IV can be had


class RegimeConfig(NautilusConfig, frozen=True):
    """IV rank in (``min_rank``, ``max_rank``] (0 belongs to the range starting at 0) opens ``strategy``
    with one strike rule per strike parameter; ``strategy`` None means no entry. ``expiries``: one DTE
    window (``{"min_dte": 20, "max_dte": 30}``) per expiry parameter, by default the strategy's window
    (a calendar needs two different ones)."""

    min_rank: float
    max_rank: float
    strategy: str | None = None
    strikes: list[dict] = msgspec.field(default_factory=list)
    expiries: list[dict] | None = None


class IVRankStrategyConfig(GroupTradingConfig, frozen=True):
    """Parameters of the autonomous strategy (and, inherited, of its group trading: venue, execution,
    rate, dividend, close_days_before_expiry, exit_time); money in dollars, prices per share, times New York."""

    underlying: str = "SPY"
    min_dte: int = 30
    max_dte: int = 45
    entry_start: str = "10:00"
    entry_end: str = "15:00"
    entry_every_days: int = 1
    iv_window: int = TRADING_DAYS
    regimes: list[RegimeConfig] | None = None  # None: the default table built from the next three
    short_delta: float = 0.16
    wing_width: float = 5.0
    butterfly_wing_width: float = 5.0
    risk_per_position: float = 0.02
    max_units: int = 10
    check_interval_minutes: int = 15
    risk: RiskLimitsConfig = RiskLimitsConfig()
    breaker: CircuitBreakerConfig = CircuitBreakerConfig()

    def __post_init__(self) -> None:
        if not 0 < self.min_dte <= self.max_dte:
            raise ValueError(f"min_dte/max_dte must satisfy 0 < min_dte <= max_dte, got {self.min_dte}-{self.max_dte}")
        if not 0 < self.risk_per_position <= 1:
            raise ValueError(f"risk_per_position must be a fraction of equity in (0, 1], got {self.risk_per_position}")
        if self.max_units < 1 or self.entry_every_days < 1 or self.check_interval_minutes < 1:
            raise ValueError("max_units, entry_every_days and check_interval_minutes must be >= 1")
        parse_time(self.entry_start, "entry_start")
        parse_time(self.entry_end, "entry_end")
        regimes(self)  # each row checked, errors name it


def default_regimes(config: IVRankStrategyConfig) -> list[RegimeConfig]:
    """The default regime table (module docstring) with the config's delta and widths."""
    delta, wing, fly = config.short_delta, config.wing_width, config.butterfly_wing_width
    condor = [
        {"by": "width", "from_strike": "short_put_strike", "points": -wing},
        {"by": "delta", "delta": delta},
        {"by": "delta", "delta": delta},
        {"by": "width", "from_strike": "short_call_strike", "points": wing},
    ]
    butterfly = [
        {"by": "width", "from_strike": "middle_strike", "points": fly},
        {"by": "atm_offset", "steps": 0},
        {"by": "width", "from_strike": "middle_strike", "points": -fly},
    ]
    return [
        RegimeConfig(min_rank=50, max_rank=100, strategy="iron_condor", strikes=condor),
        RegimeConfig(min_rank=30, max_rank=50, strategy="call_butterfly", strikes=butterfly),
        RegimeConfig(min_rank=0, max_rank=30, strategy=None),
    ]


class Regime:
    """One row of the table with its rules checked (a RuleStructure whose DTE window is the strategy's)."""

    def __init__(self, row: RegimeConfig, min_dte: int, max_dte: int, index: int) -> None:
        if not 0 <= row.min_rank < row.max_rank <= 100:
            raise ValueError(
                f"regimes[{index}]: need 0 <= min_rank < max_rank <= 100, got {row.min_rank}, {row.max_rank}"
            )
        self.row = row
        self.rules: RuleStructure | None = None
        if row.strategy is not None:
            try:
                window = {"min_dte": min_dte, "max_dte": max_dte}
                self.rules = RuleStructure.model_validate(
                    {
                        "strategy": row.strategy,
                        "strikes": row.strikes,
                        "expiries": row.expiries or [window] * _expiry_count(row.strategy),
                    }
                )
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"regimes[{index}] ({row.strategy}): {where}: {first['msg']}") from None

    def matches(self, rank: float) -> bool:
        return self.row.min_rank < rank <= self.row.max_rank or rank == self.row.min_rank == 0


def regimes(config: IVRankStrategyConfig) -> list[Regime]:
    """The config's regime table (or the default one), every row checked."""
    rows = config.regimes if config.regimes is not None else default_regimes(config)
    return [Regime(row, config.min_dte, config.max_dte, i) for i, row in enumerate(rows)]


def _expiry_count(strategy: str) -> int:
    return get_strategy(strategy).n_expiries


class IVRankStrategy(Strategy):
    """Opens one group a day at most, chosen by IV-rank regime; see the module docstring."""

    def __init__(self, config: IVRankStrategyConfig) -> None:
        super().__init__(config)
        self.entry_start = parse_time(config.entry_start, "entry_start")
        self.entry_end = parse_time(config.entry_end, "entry_end")
        self.regimes = regimes(config)
        self.limits = config.risk
        self.venue = Venue(config.venue)
        self.underlying_id = InstrumentId(Symbol(config.underlying), self.venue)
        self.iv_history: dict[dt.date, float] = {}
        self.last_decision_day: dt.date | None = None
        self.last_entry_day: dt.date | None = None
        self.decisions: list[dict] = []
        self.short_history_warned = False
        self.trader = GroupTrader.from_config(
            self,
            config,
            gate=self.gate,
            on_closed=self.on_group_closed,
            on_rejected=self.on_rejected,
        )
        self.breaker = CircuitBreaker(config.breaker, self.request_state, self.log.warning)

    # -- lifecycle ---------------------------------------------------------------------------

    def on_start(self) -> None:
        self.instant = InstantEnd(self.clock, f"{self.id}:entry")
        self.trader.start()
        self.msgbus.register(breaker_endpoint(self.id), self.on_reset_breaker)
        self.subscribe_quote_ticks(self.underlying_id)
        iv_type = DataType(AtmImpliedVol)
        self.subscribe_data(iv_type, client_id=ClientId(IV_DATA_CLIENT))
        now = self.clock.utc_now()
        self.request_data(
            iv_type,
            client_id=ClientId(IV_HISTORY_CLIENT),
            instrument_id=self.underlying_id,
            start=now - timedelta(days=int(self.config.iv_window * 1.6)),  # trading days, with room for holidays
            end=now,
        )
        self.clock.set_timer(
            "risk-check", timedelta(minutes=self.config.check_interval_minutes), callback=self.on_risk_check
        )

    def on_stop(self) -> None:
        self.trader.stop()
        self.msgbus.deregister(breaker_endpoint(self.id), self.on_reset_breaker)

    # -- data --------------------------------------------------------------------------------

    def on_historical_data(self, data: Data) -> None:
        self.on_data(data)

    def on_data(self, data: Data) -> None:
        if isinstance(data, AtmImpliedVol) and data.instrument_id == self.underlying_id:
            self.iv_history[ns_new_york_date(data.ts_event)] = data.iv_30d

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.trader.on_quote_tick(tick)
        if tick.instrument_id == self.underlying_id and self.entry_due(tick.ts_event):
            # decided once the options' quotes of this instant are in, not on the underlying's tick before them
            self.instant.defer(functools.partial(self.maybe_enter, tick.ts_event))

    def on_order_filled(self, event: OrderFilled) -> None:
        self.trader.on_order_filled(event)

    def on_order_event(self, event: OrderEvent) -> None:
        self.trader.on_order_event(event)

    # -- entries -----------------------------------------------------------------------------

    def entry_due(self, ts_ns: int) -> bool:
        """Inside the entry window of a day due for an entry, not yet decided."""
        now = ns_new_york(ts_ns)
        today = now.date()
        if today == self.last_decision_day or not self.entry_start <= now.time() <= self.entry_end:
            return False
        return self.last_entry_day is None or (today - self.last_entry_day).days >= self.config.entry_every_days

    def maybe_enter(self, ts_ns: int) -> None:
        """At the first underlying quote inside the entry window of a day due for an entry, decide once."""
        if not self.entry_due(ts_ns):
            return
        today = ns_new_york_date(ts_ns)
        decision = self.decide(ts_ns, today)
        if decision is None:
            return  # no market yet: try again at the next quote
        self.last_decision_day = today
        self.decisions.append(decision)
        self.log.info(f"entry decision {today}: {decision}")

    def decide(self, ts_ns: int, today: dt.date) -> dict | None:
        """Rank today's IV, pick the regime, build and size the structure, ask the trader to open it."""
        market = market_snapshot(self.cache, self.underlying_id, ts_ns, self.config.rate, self.config.dividend)
        if market is None:
            return None
        live_iv = market.atm_iv()
        history = [iv for day, iv in sorted(self.iv_history.items()) if day < today]
        if live_iv is None or len(history) < self.config.iv_window - 1:
            reason = f"IV history has {len(history)} days, needs {self.config.iv_window - 1}"
            if len(history) < self.config.iv_window - 1:
                self.warn_short_history(reason)
            return {"action": "none", "reason": reason}
        rank = iv_rank([*history[-(self.config.iv_window - 1) :], live_iv], self.config.iv_window).rank
        decision: dict = {"iv": round(live_iv, 4), "iv_rank": round(rank, 1)}
        regime = next((r for r in self.regimes if r.matches(rank)), None)
        if regime is None or regime.rules is None:
            return decision | {"action": "none", "reason": "no structure for this IV rank"}
        if not self.breaker.allows_entry(ts_ns) or self.trader.trading_state != TradingState.ACTIVE:
            reason = f"circuit breaker: {self.breaker.tripped_reason or 'trading state not ACTIVE'}"
            self.log.warning(f"entry refused: {reason}")
            return decision | {"action": "refused", "structure": regime.row.strategy, "reason": reason}
        try:
            legs = resolve_rules(regime.rules, market.chain, market.spot, today)
        except (ChainError, ValueError) as e:
            return decision | {"action": "none", "structure": regime.row.strategy, "reason": str(e)}
        units = self.size(market, legs)
        if isinstance(units, str):
            return decision | {"action": "none", "structure": regime.row.strategy, "reason": units}
        result = self.trader.open_group(
            OpenGroup(self.config.underlying, regime.rules.strategy, tuple(legs), units, source=SOURCE),
        )
        if not result.accepted:
            return decision | {"action": "refused", "structure": regime.row.strategy, "reason": result.reason}
        self.last_entry_day = today
        return decision | {
            "action": "open",
            "structure": regime.row.strategy,
            "units": units,
            "group_id": result.group_id,
        }

    def warn_short_history(self, reason: str) -> None:
        """Once a run: no entry can be ranked, and how to give the catalog the history it lacks."""
        if self.short_history_warned:
            return
        self.short_history_warned = True
        message = (
            f"{reason} of daily AtmImpliedVol for {self.underlying_id}: no entries until it has; add the history "
            "to the catalog with `python -m data.iv_history --catalog DIR --csv FILE` (date,iv_30d), or start "
            "the backtest later in a catalog whose history is derived from its quotes (`python -m data.iv_history "
            "--catalog DIR`)"
        )
        self.log.warning(message)
        record_notice(self.cache, self.id.value, "iv_history", message)

    def size(self, market: MarketSnapshot, legs: list[Leg]) -> int | str:
        """Units whose maximum loss stays within ``risk_per_position`` of equity; a reason string when none fit."""
        priced = [market.chain.priced(leg, market.chain.leg_contract(leg).id) for leg in legs]
        analysis = analyze(
            priced, market.spot, market.atm_iv() or FALLBACK_VOL, self.config.rate, self.config.dividend, market.as_of
        )
        if analysis.max_loss is None or analysis.max_loss >= 0:
            return "the structure's maximum loss is unbounded or not a loss: cannot size by risk"
        budget = self.config.risk_per_position * self.equity()
        units = min(int(budget // -analysis.max_loss), self.config.max_units)
        if units < 1:
            return f"one unit risks {-analysis.max_loss:.2f}, more than {budget:.2f} ({self.config.risk_per_position:.1%} of equity)"
        return units

    def gate(self, proposal: EntryProposal) -> str | None:
        """Risk limits and buying power for any group this strategy opens (its own or an actor's)."""
        return check_entry(self.limits, self.book_state(), proposal.risk())

    def book_state(self) -> BookState:
        """The book the gate judges an entry against. Groups closing for a roll are not counted among the
        open groups (the roll's new group replaces each), so a full book can still roll."""
        book = portfolio_greeks(
            self.cache,
            self.clock.timestamp_ns(),
            self.config.rate,
            self.config.dividend,
            self.config.underlying,
            self.venue,
        )
        account = self.portfolio.account(self.venue)
        free = account.balance_free(account.base_currency or account.currencies()[0]) if account is not None else None
        return BookState(
            open_groups=sum(not state.rolling for state in self.trader.open_groups()),
            delta=book.greeks.delta,
            vega=book.greeks.vega,
            free_balance=free.as_double() if free is not None else 0.0,
        )

    def equity(self) -> float:
        return marked_equity(self.cache, self.portfolio, self.venue)

    # -- risk and group events --------------------------------------------------------------

    def on_risk_check(self, event: TimeEvent) -> None:
        """Every ``check_interval_minutes``: feed the breaker's daily loss."""
        self.breaker.record_equity(self.equity(), event.ts_event)

    def on_group_closed(self, group: PositionGroup) -> None:
        self.breaker.record_close(group.pnl, self.clock.timestamp_ns())

    def on_rejected(self, reason: str) -> None:
        self.breaker.record_rejection(reason, self.clock.timestamp_ns())

    def on_reset_breaker(self, command: ResetBreaker) -> None:
        """The operator's reset, sent to :func:`hybrid.risk.breaker_endpoint` of this strategy."""
        self.breaker.reset(command.requested_by)

    def request_state(self, state: TradingState, reason: str) -> None:
        if not request_trading_state(self.msgbus, SetTradingState(state, reason, str(self.id))):
            self.log.warning("no trading-state endpoint registered: new entries are stopped by this strategy only")

"""What the API says about the engine: quotes, Greeks, groups, positions, the portfolio, health.

These pydantic models are the contract between :mod:`hybrid.api.engine_view` (which fills them from
the engine) and the routers, the JSON-RPC methods and the WebSocket feed (which return them as they
are). No NautilusTrader object crosses this line: instrument ids are strings, times are UTC datetimes.

Units: prices and premiums are per share; Greeks of one contract are per share (``OptionQuote``),
Greeks of a position, a group or the portfolio are share-equivalent (quantity x multiplier x greek,
as NautilusTrader reports portfolio Greeks): delta in shares, gamma in shares per $1, vega in $ per
vol point, theta in $ per calendar day. P&L is in the settlement currency (USD for US options).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hybrid.management.management_rules import ManagementRules
from hybrid.management.state import ManagementState


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Greeks(_Out):
    """delta, gamma, vega (per vol point) and theta (per calendar day); see the module for units."""

    delta: float
    gamma: float
    vega: float
    theta: float


class Quote(_Out):
    """The latest top of book of one instrument; a side the market does not show is null."""

    instrument_id: str
    bid: float | None
    ask: float | None
    mid: float | None = Field(
        description="the mark: (bid + ask) / 2 when both sides are shown, there is an offer and bid <= ask"
    )
    bid_size: float | None
    ask_size: float | None
    ts: dt.datetime | None = Field(description="when the quote was made (engine time, UTC)")


class OptionQuote(Quote):
    """One listed contract with its quote, the implied volatility of its mid and per-share Greeks.

    ``iv`` is null with ``iv_note`` saying why when the mid has no volatility to imply (expired, no
    time value, no quote); the Greeks are then the zero-volatility limits (intrinsic delta), or null
    without a quote or an underlying price.
    """

    expiry: dt.date
    right: Literal["call", "put"]
    strike: float
    multiplier: float
    iv: float | None
    iv_note: str | None = None
    greeks: Greeks | None


class ExpiryInfo(_Out):
    expiry: dt.date
    dte: int = Field(description="calendar days from the engine's date (New York) to the expiry")
    calls: int
    puts: int


class GroupLeg(_Out):
    """One leg of a group: its ratio per structure unit and what actually filled."""

    instrument_id: str
    ratio: int
    filled_quantity: float
    expected_quantity: float
    kind: Literal["call", "put", "underlying"] | None = None
    strike: float | None = None
    expiry: dt.date | None = None


class Lineage(_Out):
    root_id: str
    parent_id: str | None
    generation: int


class Management(_Out):
    """The bot's state for a group it manages: fired tranches, stop debounce, pause, own rules."""

    state: ManagementState
    lineage: Lineage | None = None
    rules: ManagementRules | None = Field(
        default=None, description="the rules in force: the group's own, else the bot's; null when no bot runs here"
    )


class Group(_Out):
    """A multi-leg position rebuilt from its tagged orders and leg fills (see hybrid.tracking)."""

    group_id: str
    strategy_id: str
    structure: str
    source: str
    instrument_id: str
    underlying: str | None
    status: Literal["unfilled", "open", "closed"]
    units: float
    opened_units: float
    legs: list[GroupLeg]
    entry_premium: float | None
    exit_premium: float | None
    commissions: float
    pnl: float | None = Field(
        description="cash from leg fills less commissions plus held legs at mid; null when a held leg has no quote"
    )
    balanced: bool
    unbalanced_at_ns: int | None
    orders: list[str]
    working_orders: int
    greeks: Greeks | None = Field(description="share-equivalent Greeks of what the group holds")
    management: Management | None = None


class Position(_Out):
    """One NautilusTrader position (per instrument, i.e. per leg)."""

    position_id: str
    instrument_id: str
    strategy_id: str
    side: Literal["LONG", "SHORT", "FLAT"]
    quantity: float = Field(description="signed: + long, - short")
    avg_px_open: float
    mark: float | None = Field(description="the instrument's mid, what the unrealised P&L uses")
    unrealized_pnl: float | None
    realized_pnl: float
    greeks: Greeks | None
    opened_at: dt.datetime


class AccountBalance(_Out):
    """One currency's balance of a venue account, as the venue reports it (the paper venue: its starting balance
    plus realized P&L less commissions, kept across restarts)."""

    account_id: str
    currency: str
    total: float
    locked: float
    free: float


class Portfolio(_Out):
    """Portfolio Greeks and P&L over every position the engine holds, whatever its source, and the accounts."""

    as_of: dt.datetime
    currency: str
    greeks: Greeks
    realized_pnl: float
    unrealized_pnl: float = Field(
        description="open positions marked at mid; positions without a quote are counted in unpriced_positions"
    )
    total_pnl: float
    open_positions: int
    unpriced_positions: int
    open_groups: int
    accounts: list[AccountBalance] = Field(default_factory=list, description="every venue account's balances")


class EngineHealth(_Out):
    engine_time: dt.datetime
    trading_state: str | None = Field(description="ACTIVE, REDUCING or HALTED (the risk engine's), null when not known")
    instruments: int
    underlyings: list[str]
    open_positions: int


class RiskLimit(_Out):
    """One pre-trade limit of the account gate: ``scope`` ``account`` (every source) or a source's own."""

    scope: str = Field(description="account, or the source it adds to: autonomous, manual, recurring")
    limit: str = Field(
        description="max_open_groups, max_abs_delta, max_abs_vega, max_loss_per_group, buying_power_fraction"
    )
    value: float | None = Field(description="the setting; null: off")
    usage: float = Field(
        description="now: open groups (the scope's), portfolio delta (shares), vega ($/vol point), 0 for the loss "
        "per group (judged per entry), the free balance for buying power"
    )


class Breaker(_Out):
    """A strategy's circuit breaker."""

    strategy_id: str
    tripped: bool
    reason: str | None = Field(description="why it tripped; null when not tripped")
    tripped_at: dt.datetime | None = Field(description="when it last tripped (engine time, UTC)")
    state: str = Field(description="the trading state a trip asks for")
    reset: str = Field(description="next_day or operator")
    trips: int = Field(description="trips in this run")


class RiskRefusal(_Out):
    """A pre-trade refusal: the order's source and structure, the limit broken, its setting and the usage."""

    at: dt.datetime
    source: str
    structure: str
    units: int
    scope: str
    limit: str
    value: float
    usage: float
    after: float | None = Field(description="what the entry would have made the usage; null: unbounded")
    reason: str


class RiskState(_Out):
    """Every limit with its usage, the trading state and the breakers; ``gate`` false when the run has no
    account-wide gate (hybrid.risk.account.AccountRisk), so the limits list is empty."""

    trading_state: str | None
    gate: bool
    limits: list[RiskLimit]
    breakers: list[Breaker]
    refusals: list[RiskRefusal] = Field(description="the latest pre-trade refusals, newest last")


class StressGroup(_Out):
    group_id: str
    source: str
    structure: str
    pnl: list[list[float]] = Field(description="dollars, one row per move, one column per vol shift")


class StressGrid(_Out):
    """P&L of the book and each open group against their marks now, under each move and vol shift."""

    as_of: dt.datetime = Field(description="the engine clock")
    at: dt.date | None = Field(description="the horizon date; null: now")
    moves: list[float] = Field(description="underlying moves, fractions of spot (-0.2 = -20%)")
    vol_shifts: list[float] = Field(description="implied-vol shifts in vol points")
    book: list[list[float]] = Field(description="the sum of the groups, as each group's pnl")
    groups: list[StressGroup]
    unpriced: list[str] = Field(description="open groups left out: a held leg has no mark or no underlying price")

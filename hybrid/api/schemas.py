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


class Portfolio(_Out):
    """Portfolio Greeks and P&L over every position the engine holds, whatever its source."""

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


class EngineHealth(_Out):
    engine_time: dt.datetime
    trading_state: str | None = Field(description="ACTIVE, REDUCING or HALTED (the risk engine's), null when not known")
    instruments: int
    underlyings: list[str]
    open_positions: int

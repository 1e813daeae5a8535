"""How NautilusTrader 1.231 fills, books and stores option spreads, and the bugs the project works around.

Leg fills. The simulated venue fills a spread order as one spread-level ``OrderFilled`` plus one
synthetic fill per leg whose client order id is ``<spread order id>`` + :data:`LEG_FILL_MARKER` +
``<leg symbol>`` (``OrderMatchingEngine._generate_spread_leg_fills`` in
``nautilus_trader/backtest/engine.pyx``). BUG: it builds the leg fills from ``fills[0]`` only, the first
fill of a match, so an order larger than the displayed size fills completely at the spread level but
only partly in its legs. Positions exist per leg only: the group view (:mod:`hybrid.tracking.groups`)
reads legs from the leg fills, and leg balancing (:mod:`hybrid.execution.balancing`) repairs legs to
ratio x filled units after every spread fill; that project logic stays once upstream is fixed, only its
cause goes. Upstream: no issue found as of 1.231.0. The leg fills' prices are the venue's second bug,
worked around in :mod:`hybrid.nautilus_compat.leg_prices`.

Venue settings (:data:`SPREAD_OMS_TYPE`, :data:`SPREAD_ACCOUNT_TYPE`). ``HEDGING`` opens new
opposite leg positions when a spread is closed; a ``CASH`` account crashes the run on a credit
(negative-price) spread order (``locked was negative``, ``CashAccount`` in
``nautilus_trader/accounting/accounts/cash.pyx``). Upstream: the negative-price lock is addressed for
the Rust engine by pull request #4725 ("Reserve nothing for a buy at a negative price"), after 1.231.0.

Catalog. Writing quotes of a spread instrument id to a ``ParquetDataCatalog`` succeeds, but every later
query of that catalog fails (``SQL error: ParserError``: the id is not a safe SQL identifier); spread
markets are therefore aggregated from leg quotes and never stored (``data/databento_import.py`` drops
spreads). Upstream: pull request #4025 ("Fix SQL ParserError for symbols containing ampersand") makes
identifiers SQL-safe, after 1.231.0.

Split fills. The execution engine splits a fill that flips a NETTING position into a closing part (kept in
the closed position's snapshot, with the fill's event id) and an opening part (in the reopened position, a
new event id), both with the fill's trade id (``ExecutionEngine._flip_position`` in
``nautilus_trader/execution/engine.pyx``). A synthetic leg fill belongs to no order, so positions are the
only place it is kept: :func:`join_split_fills` puts the parts back together. Upstream: by design, no issue.

``tests/nautilus_compat/test_spreads.py`` reproduces the leg-fill bug and fails once it is fixed, and shows
the split of a flipping fill.
"""

from __future__ import annotations

from collections.abc import Iterable

from nautilus_trader.model.events import OrderFilled

LEG_FILL_MARKER = "-LEG-"
SPREAD_OMS_TYPE = "NETTING"
SPREAD_ACCOUNT_TYPE = "MARGIN"


def join_split_fills(fills: Iterable[OrderFilled]) -> list[OrderFilled]:
    """The fills as the venue sent them: parts with one client order id and trade id (a fill the execution
    engine split at a position flip, module docstring) joined into one, quantities and commissions added,
    where the first part was."""
    out: list[OrderFilled] = []
    index: dict[tuple[str, str], int] = {}
    for fill in fills:
        key = (fill.client_order_id.value, fill.trade_id.value)
        if key not in index:
            index[key] = len(out)
            out.append(fill)
            continue
        first = out[index[key]]
        out[index[key]] = OrderFilled(
            trader_id=first.trader_id,
            strategy_id=first.strategy_id,
            instrument_id=first.instrument_id,
            client_order_id=first.client_order_id,
            venue_order_id=first.venue_order_id,
            account_id=first.account_id,
            trade_id=first.trade_id,
            position_id=first.position_id,
            order_side=first.order_side,
            order_type=first.order_type,
            last_qty=first.last_qty + fill.last_qty,
            last_px=first.last_px,
            currency=first.currency,
            commission=first.commission + fill.commission,
            liquidity_side=first.liquidity_side,
            event_id=first.id,
            ts_event=first.ts_event,
            ts_init=first.ts_init,
        )
    return out

"""A group the cache shows from an earlier run, as its owning strategy opened it: the bound structure again.

After a restart the group book rebuilds every group from the orders in the cache (the paper venue's restored
book, a broker's reconciled orders), but the owner's :class:`~hybrid.trading.GroupState` lived in memory. Its
orders carry what the owner needs to take the group over (:mod:`hybrid.tracking.tags`): the structure instrument
(a spread's id lists its legs and ratios), ``per_unit=`` (instrument units per unit of the structure, bind's
``option_quantity``; without it, one signed by the opening side, as every catalogue structure and order intent
has), ``leg_ratio=`` (the underlying leg's shares) and ``parent=`` (the group it was rolled from).
:func:`restored_group` turns them back into the :class:`~hybrid.options.chain.BoundStrategy` an open binds, so
the owner builds the state with the code an open uses. A spread missing from the cache is built again from its
legs as :func:`~hybrid.options.chain.bind` builds it at the open.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    Symbol,
    Venue,
    generic_spread_id_to_list,
    is_generic_spread_id,
)
from nautilus_trader.model.instruments import Equity, OptionContract, OptionSpread
from nautilus_trader.model.orders import Order

from hybrid.options.chain import BoundLeg, BoundStrategy, contract_expiry, contract_right, make_option_spread
from hybrid.options.legs import Leg
from hybrid.tracking import GroupTags, PositionGroup
from hybrid.tracking.tags import PARENT_KEY, PER_UNIT_KEY, tag_value


@dataclass(frozen=True)
class RestoredGroup:
    """What an open of the group had bound, read back from its orders (module docstring)."""

    tags: GroupTags
    bound: BoundStrategy
    underlying_id: InstrumentId
    legs: tuple[Leg, ...]
    opened_ns: int
    parent_group_id: str | None
    orders: tuple[Order, ...]


def restored_group(cache: CacheFacade, group: PositionGroup, venue: Venue) -> RestoredGroup | str:
    """The group's structure as bound at its open, or why it cannot be read back from the cache."""
    orders = tuple(o for i in group.order_ids if (o := cache.order(ClientOrderId(i))) is not None)
    if not orders:
        return "its orders are not in the cache"
    first = orders[0]  # the group view's structure instrument is its first order's
    try:
        per_unit = int(tag_value(first.tags, PER_UNIT_KEY) or (1 if first.side == OrderSide.BUY else -1))
    except ValueError:
        return f"tag {PER_UNIT_KEY!r} of {first.client_order_id} is not an integer"
    structure_id = group.instrument_id
    if is_generic_spread_id(structure_id):
        ratios = generic_spread_id_to_list(structure_id)
    else:
        ratios = [(structure_id, 1 if per_unit > 0 else -1)]
    contracts = [cache.instrument(instrument_id) for instrument_id, _ in ratios]
    missing = [i.value for (i, _), c in zip(ratios, contracts) if not isinstance(c, OptionContract)]
    if missing:
        return f"its contract {missing[0]} is not in the cache"
    options = [(c, r) for c, (_, r) in zip(contracts, ratios) if isinstance(c, OptionContract)]
    cached = cache.instrument(structure_id)
    instrument: OptionSpread | OptionContract
    if not is_generic_spread_id(structure_id):
        instrument = options[0][0]
    elif isinstance(cached, OptionSpread):
        instrument = cached
    else:  # not journalled, or a broker's: built from its legs as bind builds it
        instrument = make_option_spread(options, group.structure, first.ts_init)
    legs = [Leg(contract_right(c), float(c.strike_price), contract_expiry(c), r * abs(per_unit)) for c, r in options]
    bound_legs = [BoundLeg(leg, c) for leg, (c, _) in zip(legs, options)]
    underlying_id = InstrumentId(Symbol(options[0][0].underlying), venue)
    shares = next((leg.ratio for leg in group.legs if leg.instrument_id == underlying_id and leg.ratio), 0)
    underlying = cache.instrument(underlying_id) if shares else None
    if shares:
        if not isinstance(underlying, Equity):
            return f"its underlying {underlying_id} is not in the cache"
        legs.append(Leg("underlying", None, None, shares * per_unit))
        bound_legs.append(BoundLeg(legs[-1], underlying))
    bound = BoundStrategy(
        legs=tuple(bound_legs),
        option_instrument=instrument,
        option_quantity=per_unit,
        option_ratios=tuple(ratios),
        underlying_instrument=underlying,
        underlying_quantity=shares * per_unit,
    )
    tags = GroupTags(group.group_id, group.source, group.structure)
    parent = tag_value(first.tags, PARENT_KEY)
    return RestoredGroup(tags, bound, underlying_id, tuple(legs), first.ts_init, parent, orders)

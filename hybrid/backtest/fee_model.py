"""Commissions: per contract for options, per share (with a minimum per order) for the underlying.

NautilusTrader's ``PerContractFeeModel`` charges its rate per unit of quantity whatever the instrument,
so 1,000 delivered shares flattened at $0.65 "per contract" cost $650. Here options (and each leg of a
spread) pay ``fee_per_contract`` per contract; shares (an ``Equity``) pay ``fee_per_share`` per share with
``share_fee_minimum`` per order (a broker's tiered equity schedule, e.g. $0.005 with a $1 minimum), so
an order's partial fills together pay max(minimum, rate x shares): each fill pays what its shares add
to that. Both at zero: shares trade free.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.config import FeeModelConfig
from nautilus_trader.backtest.models import FeeModel
from nautilus_trader.model.identifiers import generic_spread_id_n_legs
from nautilus_trader.model.instruments import Equity, Instrument
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.orders import Order


class OptionsAndSharesFeeModelConfig(FeeModelConfig, frozen=True):
    """USD per option contract, per share, and the least an order with shares pays."""

    fee_per_contract: float = 0.65
    fee_per_share: float = 0.005
    share_fee_minimum: float = 1.0


class OptionsAndSharesFeeModel(FeeModel):
    """Per contract for options and spreads, per share with a per-order minimum for shares (module docstring)."""

    def __init__(self, config: OptionsAndSharesFeeModelConfig) -> None:
        rates = (config.fee_per_contract, config.fee_per_share, config.share_fee_minimum)
        if min(rates) < 0:
            raise ValueError(f"fees must be >= 0, got {rates}")
        super().__init__()
        self.per_contract = Decimal(str(config.fee_per_contract))
        self.per_share = Decimal(str(config.fee_per_share))
        self.minimum = Decimal(str(config.share_fee_minimum))

    def get_commission(self, order: Order, fill_qty: Quantity, fill_px: Price, instrument: Instrument) -> Money:
        quantity = fill_qty.as_decimal()
        if isinstance(instrument, Equity):
            before = order.filled_qty.as_decimal()  # this fill is not applied to the order yet
            due = self.share_fee(before + quantity) - self.share_fee(before)
        else:
            due = self.per_contract * quantity * generic_spread_id_n_legs(instrument.id)
        return Money(due, instrument.quote_currency)

    def share_fee(self, shares: Decimal) -> Decimal:
        """What an order of ``shares`` shares pays in all."""
        return max(self.minimum, self.per_share * shares) if shares else Decimal(0)

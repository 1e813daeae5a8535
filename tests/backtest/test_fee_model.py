"""Commissions: per contract for options and each spread leg, per share with a per-order minimum for shares."""

from __future__ import annotations

import pytest
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.model.orders import Order

from hybrid.backtest.fee_model import OptionsAndSharesFeeModel, OptionsAndSharesFeeModelConfig
from hybrid.options.instruments import make_equity
from tests.support.order_history import LONG, SPREAD, T0, History

SPY = make_equity("SPY")
DEFAULT = OptionsAndSharesFeeModel(OptionsAndSharesFeeModelConfig())


def history() -> History:
    h = History()
    h.cache.add_instrument(SPY)
    return h


def fill(h: History, model: OptionsAndSharesFeeModel, order: Order, quantity: int, instrument: Instrument) -> float:
    """Charge a fill of ``quantity``, then apply it to the order, as the venue then the engine do."""
    commission = model.get_commission(order, Quantity.from_int(quantity), Price(450.0, 2), instrument).as_double()
    h.fill(order, quantity, 450.0, T0, commission=commission)
    return commission


def test_shares_pay_per_share_with_a_minimum_per_order_not_the_option_rate() -> None:
    h = history()
    assert fill(h, DEFAULT, h.order(SPY.id, OrderSide.SELL, 1000, T0), 1000, SPY) == 5.00  # was 1,000 x $0.65
    assert fill(h, DEFAULT, h.order(SPY.id, OrderSide.BUY, 100, T0), 100, SPY) == 1.00  # $0.50: the $1 minimum


def test_the_minimum_is_charged_once_across_an_orders_partial_fills() -> None:
    h = history()
    order = h.order(SPY.id, OrderSide.SELL, 400, T0)
    charged = [fill(h, DEFAULT, order, quantity, SPY) for quantity in (100, 100, 200)]
    assert charged == [1.00, 0.00, 1.00]  # in all max($1, 400 x $0.005) = $2


def test_options_pay_per_contract_and_spreads_per_contract_of_each_leg() -> None:
    h = history()
    assert fill(h, DEFAULT, h.order(LONG.id, OrderSide.BUY, 3, T0), 3, LONG) == pytest.approx(3 * 0.65)
    spread = type("Spread", (), {"id": SPREAD, "quote_currency": USD})()  # all the model reads of the instrument
    commission = DEFAULT.get_commission(
        h.order(SPREAD, OrderSide.BUY, 2, T0), Quantity.from_int(2), Price(1.0, 2), spread
    )
    assert commission == Money(2 * 2 * 0.65, USD)


def test_zero_rates_make_shares_free() -> None:
    free = OptionsAndSharesFeeModel(OptionsAndSharesFeeModelConfig(fee_per_share=0.0, share_fee_minimum=0.0))
    h = history()
    assert fill(h, free, h.order(SPY.id, OrderSide.SELL, 500, T0), 500, SPY) == 0.0


def test_negative_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="fees must be >= 0"):
        OptionsAndSharesFeeModel(OptionsAndSharesFeeModelConfig(fee_per_share=-0.01))

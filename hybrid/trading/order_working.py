"""How a group's structure order is worked: limit at mid with a concession, market, or the two-part ExecAlgorithm.

Prices are net premiums per share of one structure unit in the order's direction of the instrument
(a credit structure bought as a spread has a negative price). ``mode`` (an
:class:`~hybrid.orders.execution_mode.ExecutionMode`, the order intents' ``execution.type`` names):

- ``limit``: one limit order at mid moved toward the far touch by ``concession_half_spreads`` (a
  fraction of the half-spread: multi-leg structures quote wide, so a fixed cent amount either gives
  everything away or never fills); when it has not filled after ``reprice_after_seconds`` it is
  cancelled and re-sent one more concession away (never past the far touch), up to ``max_reprices``
  times. An opening order then gives up (what filled stays); a closing order keeps crossing at the far
  touch until it is done: nothing may be left open past expiry.
- ``market``: one market order.
- ``two_part``: a limit at the far touch (the worst price accepted, the bound of the algorithm's own
  ladder from mid) handed to the ExecAlgorithm ``exec_algorithm_id`` (``TwoPart``) with
  ``exec_algorithm_params``; the algorithm works it to its end, the group does not reprice: what it
  leaves of an opening is given up, of a closing is crossed directly.

Leg repairs (see :mod:`hybrid.execution.balancing`) are IOC limits ``repair_slippage_ticks`` beyond the
far touch, or IOC market orders (``repair_order_type``), re-tried at the leg's next quote while a gap is
left; one due while the exchange is closed waits for the
next session (``repair_after_hours = "next_open"``) or goes at once (``"immediately"``).
"""

from __future__ import annotations

from nautilus_trader.common.config import NautilusConfig
from nautilus_trader.model.enums import OrderSide

from hybrid.execution.balancing import AFTER_HOURS
from hybrid.orders.execution_mode import ExecutionMode
from hybrid.valuation.marks import midpoint


class ExecutionConfig(NautilusConfig, frozen=True):
    """Execution of group orders (see the module docstring); checked by :func:`check_execution`."""

    mode: ExecutionMode = ExecutionMode.LIMIT
    concession_half_spreads: float = 0.25
    reprice_after_seconds: int = 900
    max_reprices: int = 4
    exec_algorithm_id: str | None = None
    exec_algorithm_params: dict | None = None
    repair_order_type: str = "limit"
    repair_slippage_ticks: int = 2
    repair_after_hours: str = "next_open"
    quote_update_interval_seconds: int | None = 60

    def __post_init__(self) -> None:
        check_execution(self)  # decoding a config file reports the error as one line naming the key


def check_execution(config: ExecutionConfig) -> ExecutionConfig:
    """``config`` itself, or a one-line ValueError naming the field and what is valid."""
    if config.mode not in ExecutionMode:
        modes = ", ".join(ExecutionMode)
        raise ValueError(f"execution.mode must be one of {modes}, got {str(config.mode)!r}")
    if config.mode == ExecutionMode.TWO_PART and not config.exec_algorithm_id:
        raise ValueError("execution.exec_algorithm_id is required when execution.mode is 'two_part' (e.g. 'TwoPart')")
    if not 0 <= config.concession_half_spreads <= 1:
        raise ValueError(
            "execution.concession_half_spreads must be a fraction of the half-spread in [0, 1], "
            f"got {config.concession_half_spreads}"
        )
    if config.reprice_after_seconds <= 0 or config.max_reprices < 0:
        raise ValueError(
            "execution.reprice_after_seconds must be > 0 and execution.max_reprices >= 0, "
            f"got {config.reprice_after_seconds}, {config.max_reprices}",
        )
    if config.repair_order_type not in ("limit", "market"):
        raise ValueError(f"execution.repair_order_type must be 'limit' or 'market', got {config.repair_order_type!r}")
    if config.repair_after_hours not in AFTER_HOURS:
        raise ValueError(
            f"execution.repair_after_hours must be one of {', '.join(AFTER_HOURS)}, got {config.repair_after_hours!r}"
        )
    if config.repair_slippage_ticks < 0:
        raise ValueError(f"execution.repair_slippage_ticks must be >= 0, got {config.repair_slippage_ticks}")
    if config.quote_update_interval_seconds is not None and config.quote_update_interval_seconds <= 0:
        raise ValueError(
            f"execution.quote_update_interval_seconds must be > 0 or left out, got {config.quote_update_interval_seconds}",
        )
    return config


def limit_price(
    side: OrderSide, bid: float, ask: float, concession_half_spreads: float, attempts: int, cross: bool = False
) -> float:
    """Mid moved ``concession_half_spreads x (1 + attempts)`` half-spreads toward the far touch, capped at it;
    the far touch when ``cross``."""
    far = ask if side == OrderSide.BUY else bid
    if cross:
        return far
    mid = midpoint(bid, ask)
    step = concession_half_spreads * (1 + attempts) * (ask - bid) / 2
    return min(mid + step, far) if side == OrderSide.BUY else max(mid - step, far)

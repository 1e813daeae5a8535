"""How an order is worked: the one vocabulary of execution modes.

The order intents' ``execution.type`` (the API's wire names) and the group trader's
``ExecutionConfig.mode`` (:mod:`hybrid.trading.order_working`) both take these values.
"""

from __future__ import annotations

from enum import StrEnum


class ExecutionMode(StrEnum):
    """``limit``: at mid with a concession, repriced; ``market``: cross now; ``two_part``: the TwoPart ExecAlgorithm."""

    LIMIT = "limit"
    MARKET = "market"
    TWO_PART = "two_part"

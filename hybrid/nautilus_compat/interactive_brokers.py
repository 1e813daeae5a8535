"""The Interactive Brokers adapter's connection retries (NautilusTrader 1.231).

``InteractiveBrokersClient.__init__`` (``nautilus_trader/adapters/interactive_brokers/client/client.py``)
reads its attempt limit from the environment only, ``IB_MAX_CONNECTION_ATTEMPTS``, default ``0`` =
retry forever: ``TradingNode.build()`` with no gateway up then never returns. There is no config field
for it. :func:`limit_connection_attempts` sets one attempt unless the environment already says;
:func:`hybrid.live.ib.check_reachable` fails fast before that. Upstream: no issue found as of 1.231.0.
``tests/nautilus_compat/test_interactive_brokers.py`` fails once the default or the variable changes.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

MAX_CONNECTION_ATTEMPTS_ENV = "IB_MAX_CONNECTION_ATTEMPTS"


def limit_connection_attempts(env: MutableMapping[str, str] = os.environ) -> None:
    """One connection attempt (the adapter retries forever by default), unless the environment says otherwise."""
    env.setdefault(MAX_CONNECTION_ATTEMPTS_ENV, "1")

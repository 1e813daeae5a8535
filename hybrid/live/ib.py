"""Interactive Brokers wiring: connection settings from the environment, a reachability check, the adapter configs.

Environment (read once at start; the account id is never printed or logged by this code):

- ``IB_HOST`` (default ``127.0.0.1``), ``IB_PORT`` (default ``4002``, IB Gateway's paper port; TWS paper is
  7497, live 4001 / 7496), ``IB_CLIENT_ID`` (default ``1``), ``IB_ACCOUNT_ID`` (the account orders go to;
  required when the login has several accounts) or ``IB_ACCOUNT_ID_FILE`` (a file holding it, kept outside the
  repository; one of the two).

:func:`check_reachable` opens a TCP connection to the gateway with a short timeout before anything is
built: NautilusTrader's IB client otherwise retries forever, and is also limited to one attempt
(:func:`hybrid.nautilus_compat.interactive_brokers.limit_connection_attempts`). :func:`ib_clients` gives the data and execution client
configs: the instrument provider loads each underlying and its option chain (expiries ``min_dte`` to
``max_dte`` days out), and ``symbol_to_mic_venue`` lists the stock and its options on one venue (``OPRA``
by default), as the Greeks and the chain code expect. :func:`apply_ib_fixes` puts the 1.231 adapter's
workarounds on a built node (:mod:`hybrid.nautilus_compat.interactive_brokers`): spread fills at the combo's net
price, and orders reconciled after a restart mapped back to their strategy and group tags by the
:class:`~hybrid.live.order_refs.OrderRefJournal` the IB node runs.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from nautilus_trader.adapters.interactive_brokers.common import IBContract
from nautilus_trader.adapters.interactive_brokers.config import (
    InteractiveBrokersDataClientConfig,
    InteractiveBrokersExecClientConfig,
    InteractiveBrokersInstrumentProviderConfig,
)
from nautilus_trader.adapters.interactive_brokers.execution import InteractiveBrokersExecutionClient
from nautilus_trader.adapters.interactive_brokers.factories import (
    InteractiveBrokersLiveDataClientFactory,
    InteractiveBrokersLiveExecClientFactory,
)
from nautilus_trader.config import RoutingConfig
from nautilus_trader.live.execution_engine import LiveExecutionEngine

from hybrid.nautilus_compat.exec_engine import exec_clients
from hybrid.nautilus_compat.interactive_brokers import (
    OrderRefLookup,
    combo_fills_at_combo_price,
    restore_reconciled_orders,
)
from hybrid.runconfig.settings import ConfigError

IB_CLIENT = "IB"
DEFAULT_PORT = 4002
CONNECT_TIMEOUT = 3.0  # seconds
DATA_FACTORY = InteractiveBrokersLiveDataClientFactory
EXEC_FACTORY = InteractiveBrokersLiveExecClientFactory


class _Connection(TypedDict):
    ibg_host: str
    ibg_port: int
    ibg_client_id: int


class GatewayUnreachable(ConnectionError):
    """Nothing accepts connections at the configured gateway address (one-line message)."""


@dataclass(frozen=True)
class IbSettings:
    """Where the gateway is and which account to trade (``account_id`` is kept out of the repr)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    client_id: int = 1
    account_id: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> IbSettings:
        """The settings from ``IB_HOST``, ``IB_PORT``, ``IB_CLIENT_ID``, ``IB_ACCOUNT_ID`` or ``IB_ACCOUNT_ID_FILE``
        (ConfigError on a bad value, naming the variable and never the account)."""
        return cls(
            host=env.get("IB_HOST", cls.host).strip() or cls.host,
            port=_integer(env, "IB_PORT", DEFAULT_PORT, 1, 65535),
            client_id=_integer(env, "IB_CLIENT_ID", cls.client_id, 0, 2**31 - 1),
            account_id=_account(env),
        )


def _account(env: Mapping[str, str]) -> str | None:
    direct, path = env.get("IB_ACCOUNT_ID", "").strip(), env.get("IB_ACCOUNT_ID_FILE", "").strip()
    if direct and path:
        raise ConfigError("set IB_ACCOUNT_ID or IB_ACCOUNT_ID_FILE, not both")
    if not path:
        return direct or None
    try:
        account = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"IB_ACCOUNT_ID_FILE {path!r} cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    if not account or any(c.isspace() for c in account):
        raise ConfigError(f"IB_ACCOUNT_ID_FILE {path!r} must hold one account id on one line")
    return account


def _integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, got {raw!r}")
    return int(raw)


def check_reachable(settings: IbSettings, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise :class:`GatewayUnreachable` unless a TCP connection to the gateway opens within ``timeout`` seconds."""
    address = f"{settings.host}:{settings.port}"
    try:
        with socket.create_connection((settings.host, settings.port), timeout=timeout):
            return
    except TimeoutError:
        reason = f"no answer within {timeout:g} s"
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise GatewayUnreachable(
        f"IB Gateway/TWS is not reachable at {address} ({reason}): start it with the API enabled, "
        "or set IB_HOST and IB_PORT"
    )


def ib_clients(
    settings: IbSettings, underlyings: list[str], venue: str, min_dte: int, max_dte: int
) -> tuple[dict, dict]:
    """``(data_clients, exec_clients)`` for a ``TradingNodeConfig``; register :data:`DATA_FACTORY` and
    :data:`EXEC_FACTORY` under :data:`IB_CLIENT`."""
    provider = InteractiveBrokersInstrumentProviderConfig(
        load_contracts=frozenset(
            IBContract(
                secType="STK",
                symbol=symbol,
                exchange="SMART",
                currency="USD",
                build_options_chain=True,
                min_expiry_days=min_dte,
                max_expiry_days=max_dte,
            )
            for symbol in underlyings
        ),
        symbol_to_mic_venue=dict.fromkeys(underlyings, venue),
    )
    connection = _Connection(ibg_host=settings.host, ibg_port=settings.port, ibg_client_id=settings.client_id)
    data = InteractiveBrokersDataClientConfig(
        instrument_provider=provider, routing=RoutingConfig(default=True), **connection
    )
    execution = InteractiveBrokersExecClientConfig(
        instrument_provider=provider,
        account_id=settings.account_id,
        routing=RoutingConfig(default=True),
        **connection,
    )
    return {IB_CLIENT: data}, {IB_CLIENT: execution}


def apply_ib_fixes(engine: LiveExecutionEngine, lookup: OrderRefLookup) -> None:
    """The 1.231 IB adapter's workarounds on a built node: combo fill prices on each IB execution client, and
    ``lookup`` (the order-ref journal's) restoring reconciled orders' strategy and tags."""
    for client in exec_clients(engine):
        if isinstance(client, InteractiveBrokersExecutionClient):
            combo_fills_at_combo_price(client)
    restore_reconciled_orders(engine, lookup)

"""NautilusTrader's Interactive Brokers clients, built as ``run_live.py --mode ib`` configures them, against a fake
gateway (no network).

:class:`FakeGateway` stands in for ibapi's ``EClient`` (the object that writes to the gateway's socket): it records
every request and answers as TWS / IB Gateway does, through the adapter's real ``EWrapper``, so everything above the
socket (the adapter's client, its order and execution bookkeeping, the instrument provider, the execution client and
the live execution engine) is NautilusTrader's own code. :class:`IbNode` is one node's worth of it: a live execution
engine, the IB execution client made by the factory from :func:`hybrid.live.ib.ib_clients`, and the project's group
book over the same cache and message bus. A second ``IbNode`` over the same gateway is the node after a restart.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from unittest.mock import patch

from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.contract import ComboLeg, Contract
from ibapi.execution import Execution
from ibapi.order import Order as IBOrder
from ibapi.order_state import OrderState
from nautilus_trader.adapters.interactive_brokers import factories
from nautilus_trader.adapters.interactive_brokers.client.client import InteractiveBrokersClient
from nautilus_trader.adapters.interactive_brokers.common import IBContract, IBContractDetails
from nautilus_trader.adapters.interactive_brokers.execution import InteractiveBrokersExecutionClient
from nautilus_trader.adapters.interactive_brokers.providers import InteractiveBrokersInstrumentProvider
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.live.config import LiveExecEngineConfig
from nautilus_trader.live.execution_engine import LiveExecutionEngine
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.model.instruments import OptionContract
from nautilus_trader.model.orders import Order
from nautilus_trader.model.orders.unpacker import OrderUnpacker
from nautilus_trader.portfolio.portfolio import Portfolio

from hybrid.live.ib import IB_CLIENT, IbSettings, apply_ib_fixes, ib_clients
from hybrid.live.node import IB_CHAIN_DTE, TRADER_ID
from hybrid.live.order_refs import OrderRefJournal, OrderRefJournalConfig
from hybrid.tracking.book import LiveGroupBook, group_book

ACCOUNT = "DU0000001"  # a made-up paper account id
FIRST_CON_ID = 700_001
SETTLE_ROUNDS = 5_000  # loop turns :meth:`IbNode.settle` allows for the queues to drain
QUIET_TURNS = 50  # turns in a row with nothing queued that :meth:`IbNode.settle` takes for quiet


@dataclass
class Placed:
    """One ``placeOrder`` call as the gateway received it (copies: the adapter may reuse its objects)."""

    order_id: int
    contract: Contract
    order: IBOrder


@dataclass
class FakeGateway:
    """TWS / IB Gateway behind ibapi's ``EClient`` interface: requests recorded, answers sent through the wrapper.

    It keeps what a gateway keeps across a client's restart: the open orders (with their ``orderRef``), the
    positions and the day's executions.
    """

    account: str = ACCOUNT
    wrapper: object = None  # the connected client's EWrapper; set by :meth:`attach`
    placed: list[Placed] = field(default_factory=list)
    open_orders: dict[int, Placed] = field(default_factory=dict)
    executions: list[tuple[Contract, Execution, CommissionAndFeesReport]] = field(default_factory=list)
    positions: dict[int, tuple[Contract, Decimal, float]] = field(
        default_factory=dict
    )  # conId -> (contract, qty, cost)
    _exec_seq: int = 0

    def attach(self, client: InteractiveBrokersClient) -> None:
        """Take the place of ``client``'s EClient (answers go to its EWrapper)."""
        self.wrapper = client._eclient.wrapper
        client._eclient = self  # type: ignore[assignment]

    # --- what the adapter calls on its EClient ---------------------------------------------------------------

    def isConnected(self) -> bool:
        return True

    def serverVersion(self) -> int:
        return 200

    def placeOrder(self, orderId: int, contract: Contract, order: IBOrder) -> None:
        placed = Placed(orderId, wire_contract(contract), copy.deepcopy(order))
        self.placed.append(placed)
        self.open_orders[orderId] = placed
        self._open_order(placed, "Submitted")
        self.wrapper.orderStatus(
            orderId, "Submitted", Decimal(0), order.totalQuantity, 0.0, self.perm_id(orderId), 0, 0.0, 1, "", 0.0
        )

    def reqOpenOrders(self) -> None:
        for placed in self.open_orders.values():
            self._open_order(placed, "Submitted")
        self.wrapper.openOrderEnd()

    reqAllOpenOrders = reqOpenOrders

    def reqPositions(self) -> None:
        for contract, quantity, cost in self.positions.values():
            self.wrapper.position(self.account, contract, quantity, cost)
        self.wrapper.positionEnd()

    def reqExecutions(self, reqId: int, execFilter: object) -> None:
        for contract, execution, commission in self.executions:
            self.wrapper.execDetails(reqId, contract, execution)
            self.wrapper.commissionAndFeesReport(commission)
        self.wrapper.execDetailsEnd(reqId)

    def reqAccountSummary(self, reqId: int, groupName: str, tags: str) -> None:
        for tag in (
            "NetLiquidation",
            "TotalCashValue",
            "FullAvailableFunds",
            "FullInitMarginReq",
            "FullMaintMarginReq",
        ):
            value = "0" if "Margin" in tag else "100000"
            self.wrapper.accountSummary(reqId, self.account, tag, value, "USD")
        self.wrapper.accountSummaryEnd(reqId)

    def __getattr__(self, name: str) -> object:
        if name.startswith(("req", "cancel", "set")):  # requests the tests do not answer (cancelAccountSummary, ...)
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    # --- what the tests make the venue do --------------------------------------------------------------------

    @staticmethod
    def perm_id(order_id: int) -> int:
        return 1_000_000 + order_id

    def fill(self, order_id: int, legs: Iterable[tuple[int, str, int, float]], avg_price: float) -> None:
        """The venue fills all of order ``order_id``: one execution per ``(conId, "BOT"|"SLD", quantity, price)`` with its
        commission report (USD 0.65 a contract), then the order's status with IB's average price (a combo's net)."""
        placed = self.open_orders.pop(order_id)
        for con_id, side, quantity, price in legs:
            self._exec_seq += 1
            execution = Execution()
            execution.execId = f"0000e0d5.{self._exec_seq:08x}.01.01"
            execution.time = dt.datetime.now(dt.UTC).strftime("%Y%m%d %H:%M:%S Universal")
            execution.acctNumber = self.account
            execution.exchange = "CBOE"
            execution.side = side
            execution.shares = Decimal(quantity)
            execution.price = price
            execution.permId = self.perm_id(order_id)
            execution.clientId = 1
            execution.orderId = order_id
            execution.orderRef = placed.order.orderRef
            commission = CommissionAndFeesReport()
            commission.execId = execution.execId
            commission.commissionAndFees = 0.65 * quantity
            commission.currency = "USD"
            contract = self._leg_contract(placed, con_id)
            self.executions.append((contract, execution, commission))
            self.wrapper.execDetails(-1, contract, execution)
            self.wrapper.commissionAndFeesReport(commission)
        total = placed.order.totalQuantity
        self.wrapper.orderStatus(
            order_id, "Filled", total, Decimal(0), avg_price, self.perm_id(order_id), 0, avg_price, 1, "", 0.0
        )

    def _open_order(self, placed: Placed, status: str) -> None:
        state = OrderState()
        state.status = status
        order = copy.deepcopy(placed.order)
        order.permId = self.perm_id(placed.order_id)
        self.wrapper.openOrder(placed.order_id, wire_contract(placed.contract), order, state)

    def _leg_contract(self, placed: Placed, con_id: int) -> Contract:
        if placed.contract.conId == con_id:
            return copy.deepcopy(placed.contract)
        contract = Contract()  # a combo leg's execution names the leg's own contract
        contract.conId, contract.secType, contract.symbol = con_id, "OPT", placed.contract.symbol
        contract.exchange, contract.currency = "SMART", "USD"
        return contract


def wire_contract(contract: Contract) -> Contract:
    """``contract`` as ibapi decodes it from the socket: a plain ``Contract`` with plain ``ComboLeg`` s."""
    out = Contract()
    for name in vars(out):
        if name != "comboLegs" and hasattr(contract, name):
            setattr(out, name, copy.deepcopy(getattr(contract, name)))
    legs = []
    for leg in contract.comboLegs or []:
        wire = ComboLeg()
        wire.conId, wire.ratio, wire.action, wire.exchange = leg.conId, leg.ratio, leg.action, leg.exchange
        legs.append(wire)
    out.comboLegs = legs
    return out


def option_details(option: OptionContract, con_id: int) -> IBContractDetails:
    """The contract details the gateway gives for ``option`` (an OCC-symbol ``OptionContract``)."""
    expiry = dt.datetime.fromtimestamp(option.expiration_ns / 1e9, dt.UTC).strftime("%Y%m%d")
    contract = IBContract(
        secType="OPT",
        conId=con_id,
        symbol=option.underlying,
        lastTradeDateOrContractMonth=expiry,
        strike=option.strike_price.as_double(),
        right="C" if option.option_kind.name == "CALL" else "P",
        multiplier="100",
        exchange="SMART",
        currency="USD",
        localSymbol=option.raw_symbol.value,
        tradingClass=option.underlying,
    )
    return IBContractDetails(
        contract=contract,
        minTick=0.01,
        priceMagnifier=1,
        underSymbol=option.underlying,
        underSecType="STK",
        timeZoneId="US/Eastern",
        marketName=option.underlying,
        validExchanges="SMART,CBOE",
        lastTradeTime="16:00:00",
    )


class IbNode:
    """One live node's execution side in IB mode: engine, IB execution client and group book, on one loop."""

    def __init__(self, gateway: FakeGateway, options: list[OptionContract], database: Path, fixes: bool = True) -> None:
        self.gateway = gateway
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.clock = LiveClock()
        self.msgbus = MessageBus(TraderId(TRADER_ID), self.clock)
        self.cache = Cache()
        self.portfolio = Portfolio(self.msgbus, self.cache, self.clock)
        self.engine = LiveExecutionEngine(self.loop, self.msgbus, self.cache, self.clock, LiveExecEngineConfig())
        settings = IbSettings(account_id=gateway.account)
        _, exec_configs = ib_clients(settings, ["SPY"], "OPRA", *IB_CHAIN_DTE)
        with (
            patch.object(factories, "get_cached_ib_client", self._ib_client),
            patch.object(
                factories, "get_cached_interactive_brokers_instrument_provider", InteractiveBrokersInstrumentProvider
            ),
        ):
            self.client: InteractiveBrokersExecutionClient = factories.InteractiveBrokersLiveExecClientFactory.create(
                self.loop, IB_CLIENT, exec_configs[IB_CLIENT], self.msgbus, self.cache, self.clock
            )
        self.engine.register_client(self.client)
        self.engine.register_default_client(self.client)
        self._load(options)
        self.journal = OrderRefJournal(OrderRefJournalConfig(database=str(database)))
        self.journal.register_base(self.portfolio, self.msgbus, self.cache, self.clock)
        if fixes:  # as build_node does in IB mode; without, the adapter as 1.231 ships it
            apply_ib_fixes(self.engine, self.journal.lookup)
        self.book: LiveGroupBook = group_book(self.cache, self.msgbus)
        self.engine.start()
        self.journal.start()
        self.run(self.client._connect())
        self.settle()

    def _ib_client(
        self,
        loop: asyncio.AbstractEventLoop,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        host: str,
        port: int,
        client_id: int,
        **_: object,
    ) -> InteractiveBrokersClient:
        """The adapter's client, connected to the fake gateway (what ``_start_async`` ends with, minus the socket)."""
        ib = InteractiveBrokersClient(loop, msgbus, cache, clock, host, port, client_id)
        self.gateway.attach(ib)
        ib._msg_handler_processor_task = loop.create_task(ib._run_msg_handler_processor())
        ib._account_ids = {self.gateway.account}
        ib._next_valid_order_id = 1 + max((p.order_id for p in self.gateway.placed), default=0)
        ib._is_ib_connected.set()
        ib._is_client_ready.set()
        self.ib = ib
        return ib

    def _load(self, options: list[OptionContract]) -> None:
        """The option chain as the instrument provider holds it after loading: parsed from the gateway's details."""
        provider = self.client.instrument_provider
        details = [option_details(o, FIRST_CON_ID + i) for i, o in enumerate(options)]
        provider._process_contract_details(details, "OPRA")
        provider._loaded = True

    def con_id(self, option: OptionContract) -> int:
        return self.client.instrument_provider.contract[option.id].conId

    def run[T](self, awaitable: object) -> T:
        return self.loop.run_until_complete(awaitable)  # type: ignore[arg-type]

    def settle(self) -> None:
        """Let the adapter's handler queue, the engine's queues and the tasks they start run until all is quiet.

        The wrapper hands each callback to the handler queue through ``run_coroutine_threadsafe``, so a callback
        can be on its way for a turn of the loop while every queue is empty: quiet means :data:`QUIET_TURNS`
        turns in a row with nothing queued."""

        def busy() -> int:
            return self.ib._msg_handler_task_queue.qsize() + self.engine.cmd_qsize() + self.engine.evt_qsize()

        async def drain() -> None:
            quiet = 0
            for _ in range(SETTLE_ROUNDS):
                await asyncio.sleep(0)
                quiet = 0 if busy() else quiet + 1
                if quiet >= QUIET_TURNS:
                    return
            raise AssertionError(f"the IB node's queues did not drain in {SETTLE_ROUNDS} turns")

        self.run(drain())

    def load_spread(self, spread_id: object) -> None:
        """What a strategy's ``request_instrument(spread_id)`` makes the provider do: the BAG contract from the legs."""
        assert self.run(self.client.instrument_provider.fetch_instrument_id(spread_id))

    def submit(self, order: Order, primary: Order | None = None) -> Order:
        """A fresh copy of ``order`` (same id, tags, instrument, side, price) submitted through the engine; an
        algorithm's child needs its ``primary`` in the cache (as the algorithm's node has it)."""
        if primary is not None and self.cache.order(primary.client_order_id) is None:
            self.cache.add_order(OrderUnpacker.from_init(primary.init_event))
        fresh = OrderUnpacker.from_init(order.init_event)
        command = SubmitOrder(
            trader_id=fresh.trader_id,
            strategy_id=fresh.strategy_id,
            order=fresh,
            command_id=UUID4(),
            ts_init=self.clock.timestamp_ns(),
        )
        self.engine.execute(command)
        self.settle()
        return self.cache.order(fresh.client_order_id)

    def close(self) -> None:
        self.journal.stop()
        self.journal.dispose()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.engine.stop()
        self.run(asyncio.sleep(0.01))
        self.engine.dispose()
        self.loop.close()

"""The orders a broker holds, mapped back to their strategy and group tags after a restart.

A broker keeps working orders while the node is down, and NautilusTrader's live cache starts empty: the orders
the execution engine rebuilds from the venue's reports come back as the strategy ``EXTERNAL`` with no group
tags, so the group view would lose them (:mod:`hybrid.nautilus_compat.interactive_brokers`, "Reconciled
orders"). The client order id survives, as Interactive Brokers' ``orderRef``. :class:`OrderRefJournal` (an
Actor the IB node adds itself) writes the strategy id and tags of every order the node submits to a table of the
node's SQLite file when it is submitted; :meth:`OrderRefJournal.lookup` answers the engine at the next start's
reconciliation, before any component starts.

A row is written once per order (``INSERT OR IGNORE``: the tags an order was submitted with never change),
through the database's writer thread, so the event loop never waits for the disk.
"""

from __future__ import annotations

import json

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.events import OrderEvent, OrderSubmitted
from nautilus_trader.model.identifiers import ClientOrderId, StrategyId

from hybrid.nautilus_compat.topics import ALL_ORDER_EVENTS
from hybrid.store.db import Database
from hybrid.tracking.tags import GroupTags

SCHEMA = """
CREATE TABLE IF NOT EXISTS order_refs (
    client_order_id TEXT PRIMARY KEY,
    strategy_id     TEXT NOT NULL,
    tags            TEXT NOT NULL
);
"""


class OrderRefJournalConfig(ActorConfig, frozen=True):
    """The SQLite file the journal keeps its table in (the node's database)."""

    database: str


class OrderRefJournal(Actor):
    """Journals each submitted group order's strategy and tags, and answers for them after a restart."""

    def __init__(self, config: OrderRefJournalConfig) -> None:
        super().__init__(config)
        self.db = Database(config.database)
        self.db.ensure_schema("order_refs", 1, SCHEMA)

    def on_start(self) -> None:
        self.msgbus.subscribe(ALL_ORDER_EVENTS, self._on_order_event)

    def on_stop(self) -> None:
        self.msgbus.unsubscribe(ALL_ORDER_EVENTS, self._on_order_event)

    def on_dispose(self) -> None:
        self.db.close()

    def _on_order_event(self, event: OrderEvent) -> None:
        if not isinstance(event, OrderSubmitted):
            return
        order = self.cache.order(event.client_order_id)
        if order is None or GroupTags.parse(order.tags) is None:
            return
        row = (order.client_order_id.value, order.strategy_id.value, json.dumps(list(order.tags)))
        self.db.write(lambda conn: conn.execute("INSERT OR IGNORE INTO order_refs VALUES (?, ?, ?)", row))

    def lookup(self, client_order_id: ClientOrderId) -> tuple[StrategyId, list[str]] | None:
        """The strategy and tags ``client_order_id`` was submitted with, or None for an order this node never sent."""
        rows = self.db.query(
            "SELECT strategy_id, tags FROM order_refs WHERE client_order_id = ?", (client_order_id.value,)
        )
        return (StrategyId(rows[0]["strategy_id"]), json.loads(rows[0]["tags"])) if rows else None

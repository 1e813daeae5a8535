"""Everything the API's operations work with: the engine view, the order queue, the stores and the hub.

The live node builds one :class:`ApiContext` and hands it to :func:`hybrid.api.app.create_app`. The
queue and the stores must be the very instances the engine side uses (the drainer strategy, the bot
and template actors): their listeners, which feed the WebSocket, are per instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hybrid.api.engine_view import EngineView
from hybrid.api.leg_templates import LegTemplateStore
from hybrid.api.pnl_history import DEFAULT_INTERVAL, PnLHistory
from hybrid.api.reports import reports_dir_from_env
from hybrid.api.ws import Hub
from hybrid.execution.fill_stats import FillStats
from hybrid.management.action_log import ActionLog
from hybrid.management.management_rules import ManagementRules
from hybrid.management.management_store import ManagementStore
from hybrid.management.template_store import TemplateStore
from hybrid.orders.queue import OrderQueue
from hybrid.store.db import Database


@dataclass
class ApiContext:
    """The engine view, the persistent queue and stores (one SQLite database), and the WebSocket hub.

    ``fill_stats`` reads the two-part algorithm's fill-rate statistics (None: the route answers 404);
    ``reports`` is the folder of backtest reports the UI lists; ``mode`` the node's (``paper`` or ``ib``; None
    outside a live node); ``history`` the P&L history the app records every ``history_interval`` seconds and
    after fills (:mod:`hybrid.api.pnl_history`); ``bot_rules`` the bot manager's default rules (None: no bot
    runs in this process), a managed group's rules unless it has its own.
    """

    view: EngineView
    queue: OrderQueue
    actions: ActionLog
    management: ManagementStore
    templates: TemplateStore
    leg_templates: LegTemplateStore
    history: PnLHistory
    hub: Hub = field(default_factory=Hub)
    fill_stats: FillStats | None = None
    reports: Path = field(default_factory=reports_dir_from_env)
    history_interval: float = DEFAULT_INTERVAL
    bot_rules: ManagementRules | None = None
    mode: str | None = None

    @classmethod
    def open(cls, view: EngineView, db: Database, *, hub: Hub | None = None) -> ApiContext:
        """A context whose queue and stores share ``db``."""
        actions = ActionLog(db)
        return cls(
            view=view,
            queue=OrderQueue(db),
            actions=actions,
            management=ManagementStore(db, actions),
            templates=TemplateStore(db, actions),
            leg_templates=LegTemplateStore(db),
            history=PnLHistory(db),
            hub=hub or Hub(),
            fill_stats=FillStats(db),
        )

    async def off_loop[T](self, work: Callable[..., T], *args: object) -> T:
        """Run blocking store work (a durable write waits for the disk) in a worker thread, so the engine
        and the other requests on the event loop are not held up by it. The stores are thread-safe; the
        engine view is not, and is only read on the loop."""
        return await asyncio.to_thread(work, *args)

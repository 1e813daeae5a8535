"""One pre-trade risk gate for the whole account, whatever the order's source (autonomous, manual, recurring).

Every strategy's :class:`hybrid.trading.GroupTrader` (the order desk's for people and recurring templates,
the autonomous strategy's) and the API's order submission ask the same :class:`AccountRisk` before a group
is opened, so the limits hold for the account, not per strategy::

    [[actors]]
    path = "hybrid.risk.account:AccountRisk"
    [actors.config.limits]            # every source (hybrid.risk.limits.RiskLimitsConfig)
    max_open_groups = 8
    max_abs_delta = 300.0
    [actors.config.sources.manual]    # on top, for one source (hybrid.risk.limits.SourceLimitsConfig)
    max_loss_per_group = 1000.0

The book an entry is judged against is the account's (:func:`account_book`): the open and opening groups of
every strategy (:func:`hybrid.tracking.book.group_book`; a roll's new group replaces its parent and is not
counted again), the Greeks of every open position at the venue (:func:`hybrid.valuation.greeks.portfolio_greeks`,
the one valuation) and the account's free balance. A source's own ``max_open_groups`` counts its groups only.
Valuing every position's Greeks costs milliseconds for a large book, so they are revalued after any position
event and otherwise at most every ``revalue_seconds`` of engine time (1 s; 0: at every check); open groups
and the free balance are read at every check.

Every refusal is kept (:attr:`AccountRisk.refusals`), published on :data:`REFUSALS_TOPIC` (the live node
writes it to the bot action log, so it shows in the actions feed) and, at stop, stored in the cache under
:data:`REFUSALS_CACHE_KEY` for the backtest report. Components find the actor with :func:`account_risk`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import msgspec
from nautilus_trader.cache.base import CacheFacade
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.component import MessageBus
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.portfolio.base import PortfolioFacade

from hybrid.calendar.exchange_time import ns_new_york, utc_text
from hybrid.nautilus_compat.topics import ALL_POSITION_EVENTS
from hybrid.risk.limits import (
    SOURCES,
    BookState,
    EntryRisk,
    LimitUsage,
    Refusal,
    RiskLimitsConfig,
    SourceLimitsConfig,
    entry_refusal,
    limit_usage,
)
from hybrid.tracking.book import group_book
from hybrid.valuation.greeks import BookGreeks, portfolio_greeks

ACCOUNT_RISK_ENDPOINT = "hybrid.risk.account"  # send a list: the actor appends itself
REFUSALS_TOPIC = "hybrid.risk.refusals"
REFUSALS_CACHE_KEY = "hybrid.risk.refusals"


class AccountRiskConfig(ActorConfig, frozen=True):
    """The account's limits, each source's limits on top (keys: autonomous, manual, recurring), the venue of
    the account and the rate and dividend yield of its Greeks."""

    venue: str = "OPRA"
    rate: float = 0.045
    dividend: float = 0.013
    limits: RiskLimitsConfig = RiskLimitsConfig()
    sources: dict[str, SourceLimitsConfig] = msgspec.field(default_factory=dict)
    revalue_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0 <= self.revalue_seconds <= 60:
            raise ValueError(f"revalue_seconds must be 0 to 60 seconds, got {self.revalue_seconds}")
        unknown = sorted(set(self.sources) - set(SOURCES))
        if unknown:
            raise ValueError(f"sources: unknown source {unknown[0]!r} (valid: {', '.join(SOURCES)})")


@dataclass(frozen=True, slots=True)
class RefusalRecord:
    """A refused entry: when, from which source, what it was, and the limit it broke."""

    ts_ns: int
    source: str
    structure: str
    units: int
    scope: str
    limit: str
    value: float
    usage: float
    after: float | None
    reason: str


def account_book(
    cache: CacheFacade,
    msgbus: MessageBus,
    portfolio: PortfolioFacade,
    venue: Venue,
    greeks: BookGreeks,
    source: str | None = None,
) -> BookState:
    """The account as the gate sees it (module docstring) with ``greeks`` of its positions; ``source`` counts
    only its open groups."""
    sources = group_book(cache, msgbus).active_sources()
    opened = len(sources) if source is None else sources.count(source)
    account = portfolio.account(venue)
    free = None
    if account is not None:
        free = account.balance_free(account.base_currency or account.currencies()[0])
    return BookState(
        open_groups=opened,
        delta=greeks.greeks.delta,
        vega=greeks.greeks.vega,
        free_balance=free.as_double() if free is not None else 0.0,
    )


class AccountRisk(Actor):
    """The account-wide pre-trade gate (module docstring)."""

    def __init__(self, config: AccountRiskConfig) -> None:
        super().__init__(config)
        self.venue = Venue(config.venue)
        self.refusals: list[RefusalRecord] = []
        self._greeks: tuple[int, BookGreeks] | None = None  # (valued at, the positions' Greeks) until stale
        self._pending: list[tuple[int, str, str, EntryRisk]] = []  # accepted this instant: (at, group, source, risk)

    def on_start(self) -> None:
        self.msgbus.register(ACCOUNT_RISK_ENDPOINT, self._answer)
        self.msgbus.subscribe(ALL_POSITION_EVENTS, self._on_position_event)

    def on_stop(self) -> None:
        self.msgbus.deregister(ACCOUNT_RISK_ENDPOINT, self._answer)
        self.msgbus.unsubscribe(ALL_POSITION_EVENTS, self._on_position_event)
        rows = [asdict(record) for record in self.refusals]
        self.cache.add(REFUSALS_CACHE_KEY, json.dumps(rows).encode())

    def _answer(self, request: list[AccountRisk]) -> None:
        request.append(self)

    def _on_position_event(self, event: object) -> None:
        self._greeks = None  # a position opened, changed or closed: revalue at the next check

    def greeks(self) -> BookGreeks:
        """The positions' Greeks, revalued after a position event or ``revalue_seconds`` of engine time."""
        now = self.clock.timestamp_ns()
        if self._greeks is None or now - self._greeks[0] >= self.config.revalue_seconds * 1e9:
            config = self.config
            self._greeks = now, portfolio_greeks(self.cache, now, config.rate, config.dividend, venue=self.venue)
        return self._greeks[1]

    def book(self, source: str | None = None) -> BookState:
        return account_book(self.cache, self.msgbus, self.portfolio, self.venue, self.greeks(), source)

    def check(
        self,
        source: str,
        structure: str,
        units: int,
        entry: EntryRisk,
        replaces: bool = False,
        group_id: str | None = None,
    ) -> Refusal | None:
        """The first limit the entry breaks (the account's, then its source's), recorded; None when within all.
        ``replaces``: a roll's new group, which takes its parent's place among the open groups. ``group_id``:
        the group an accepted entry opens, counted (with its Greeks) by the checks later in the same instant,
        before its first order reaches the group book (orders go out at the end of the instant)."""
        now = self.clock.timestamp_ns()
        self._pending = [p for p in self._pending if p[0] == now]
        book = self.book()
        refusal = entry_refusal(self.config.limits, self._with_pending(book, None, replaces), entry)
        limits = self.config.sources.get(source)
        if refusal is None and limits is not None:
            own = self._with_pending(self.book(source), source, replaces)
            refusal = entry_refusal(limits, own, entry, scope=source)
        if refusal is None and group_id is not None:
            self._pending.append((now, group_id, source, entry))
        if refusal is not None:
            record = RefusalRecord(
                self.clock.timestamp_ns(), source, structure, units, refusal.scope, refusal.limit, refusal.value,
                refusal.usage, refusal.after, refusal.message,
            )  # fmt: skip
            self.refusals.append(record)
            self.log.warning(f"pre-trade refusal ({source} {structure} x{units}): {refusal.message}")
            self.msgbus.publish(REFUSALS_TOPIC, record)
        return refusal

    def _with_pending(self, book: BookState, source: str | None, replaces: bool) -> BookState:
        """``book`` with the entries accepted earlier in this instant that the group book does not hold yet, less
        the group a roll replaces."""
        known = group_book(self.cache, self.msgbus)
        pending = [p for p in self._pending if (source is None or p[2] == source) and known.get(p[1]) is None]
        opened = book.open_groups + len(pending) - (1 if replaces and book.open_groups else 0)
        return BookState(
            opened,
            book.delta + sum(p[3].delta for p in pending),
            book.vega + sum(p[3].vega for p in pending),
            book.free_balance,
        )

    def usage(self) -> list[LimitUsage]:
        """Every limit, the account's then each source's, with its setting and usage now."""
        rows = limit_usage(self.config.limits, self.book(), "account")
        for source, limits in sorted(self.config.sources.items()):
            rows += [row for row in limit_usage(limits, self.book(source), source) if row.value is not None]
        return rows


def account_risk(msgbus: MessageBus) -> AccountRisk | None:
    """The running :class:`AccountRisk` of this message bus's kernel, or None when the run has none."""
    if ACCOUNT_RISK_ENDPOINT not in msgbus.endpoints():
        return None
    found: list[AccountRisk] = []
    msgbus.send(ACCOUNT_RISK_ENDPOINT, found)
    return found[0] if found else None


REFUSAL_COLUMNS = ("at", "source", "structure", "units", "scope", "limit", "value", "usage", "after", "reason")


def cached_refusals(cache: CacheFacade) -> list[dict]:
    """The refusals the actor stored at stop, oldest first, as :data:`REFUSAL_COLUMNS` rows (``at`` UTC text);
    empty when the run had none, or no gate."""
    raw = cache.get(REFUSALS_CACHE_KEY)
    rows = json.loads(raw) if raw else []
    return [{"at": utc_text(ns_new_york(row.pop("ts_ns"))), **row} for row in rows]

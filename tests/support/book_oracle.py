"""An actor that checks the incremental group book against a full rebuild after every order event."""

from __future__ import annotations

import pytest
from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig

from hybrid.nautilus_compat.topics import ALL_ORDER_EVENTS
from hybrid.tracking import PositionGroup, rebuild_groups
from hybrid.tracking.book import LiveGroupBook, group_book


class BookOracleConfig(ActorConfig, frozen=True):
    pass


class BookOracle(Actor):
    """After every order event (and once at the end): the book's groups, its open groups and its active
    groups (open or with working orders) must equal those of ``rebuild_groups``."""

    def __init__(self, config: BookOracleConfig | None = None) -> None:
        super().__init__(config or BookOracleConfig())
        self.checks = 0
        self.mismatches: list[tuple[int, object, object]] = []
        self.book: LiveGroupBook | None = None

    def on_start(self) -> None:
        self.book = group_book(self.cache, self.msgbus)
        self.msgbus.subscribe(ALL_ORDER_EVENTS, self.check)

    def on_stop(self) -> None:
        self.check(None)

    def check(self, _event: object) -> None:
        assert self.book is not None
        book, rebuilt_book = self.book, rebuild_groups(self.cache)
        active = [g.group_id for g in rebuilt_book if g.status == "open" or g.working_orders > 0]
        kept = [*book.groups().to_list(), [g.group_id for g in book.active_groups()], _dicts(book.open_groups())]
        rebuilt = [*rebuilt_book.to_list(), active, _dicts(rebuilt_book.open_groups())]
        self.checks += 1
        if kept != rebuilt and len(self.mismatches) < 5:
            differ = [(k, r) for k, r in zip(kept, rebuilt) if k != r] or [(kept, rebuilt)]
            self.mismatches.append((self.clock.timestamp_ns(), *differ[0]))


def _dicts(groups: list[PositionGroup]) -> list[dict]:
    return [group.to_dict() for group in groups]


ORACLE = ("actors", 0, "tests.support.book_oracle:BookOracle", "tests.support.book_oracle:BookOracleConfig", {})


def oracle_of(actors: list) -> BookOracle:
    """The run's oracle, once it has seen enough and found the book equal to the rebuild every time."""
    oracle = next(a for a in actors if isinstance(a, BookOracle))
    assert oracle.checks > 10, "the oracle saw too few events to say anything"
    if oracle.mismatches:
        ts, kept, rebuilt = oracle.mismatches[0]
        differ = {k: (kept.get(k), rebuilt.get(k)) for k in rebuilt if kept.get(k) != rebuilt.get(k)}
        pytest.fail(f"at {ts}: book != rebuild for {rebuilt.get('group_id')}: {differ}")
    return oracle

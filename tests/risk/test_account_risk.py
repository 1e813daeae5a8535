"""The account-wide pre-trade gate: refusals name the limit, its setting and the usage; a source's limits add to
the account's; a roll replaces its parent among the open groups; the run config names bad keys; every refusal is
recorded, published and stored for the report."""

from __future__ import annotations

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.portfolio.portfolio import Portfolio

from hybrid.risk.account import (
    REFUSALS_TOPIC,
    AccountRisk,
    AccountRiskConfig,
    RefusalRecord,
    account_risk,
    cached_refusals,
)
from hybrid.risk.limits import (
    BookState,
    EntryRisk,
    RiskLimitsConfig,
    SourceLimitsConfig,
    entry_refusal,
    limit_usage,
)
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ComponentSpec, ConfigError

BOOK = BookState(open_groups=2, delta=120.0, vega=-300.0, free_balance=50_000.0)
ENTRY = EntryRisk(delta=40.0, vega=-100.0, max_loss=800.0, requirement=900.0)


def test_a_refusal_names_the_limit_its_setting_the_usage_and_what_the_entry_would_make_it() -> None:
    refusal = entry_refusal(RiskLimitsConfig(max_abs_delta=150.0), BOOK, ENTRY)
    assert refusal is not None
    assert (refusal.scope, refusal.limit, refusal.value, refusal.usage, refusal.after) == (
        "account", "max_abs_delta", 150.0, 120.0, 160.0,
    )  # fmt: skip
    assert refusal.message == "max_abs_delta: portfolio delta would be 160.0 shares, limit 150.0"
    manual = entry_refusal(SourceLimitsConfig(max_loss_per_group=500.0), BOOK, ENTRY, scope="manual")
    assert manual is not None
    assert (manual.limit, manual.value, manual.after) == ("max_loss_per_group", 500.0, 800.0)
    assert manual.message.startswith("manual.max_loss_per_group: 800.00 > limit 500.00")


def test_source_limits_are_off_unless_set() -> None:
    assert entry_refusal(SourceLimitsConfig(), BookState(99, 1e9, 1e9, 0.0), EntryRisk(1e9, 1e9, None, 1e9)) is None
    rows = limit_usage(SourceLimitsConfig(max_open_groups=3), BOOK, "recurring")
    assert [(r.limit, r.value) for r in rows if r.value is not None] == [("max_open_groups", 3)]


class FixedBook(AccountRisk):
    """The gate over given books (the account's, and one per source), on a bare kernel's bus and clock."""

    def __init__(self, config: AccountRiskConfig, books: dict[str | None, BookState]) -> None:
        super().__init__(config)
        self.books = books
        clock = TestClock()
        msgbus = MessageBus(TraderId("RISK-001"), clock)
        cache = Cache()
        self.register_base(Portfolio(msgbus, cache, clock), msgbus, cache, clock)
        self.on_start()

    def book(self, source: str | None = None) -> BookState:
        return self.books[source]


def gate(**sources: SourceLimitsConfig) -> FixedBook:
    config = AccountRiskConfig(limits=RiskLimitsConfig(max_open_groups=3, max_loss_per_group=5_000.0), sources=sources)
    return FixedBook(config, {None: BOOK, "manual": BookState(1, 120.0, -300.0, 50_000.0)})


def test_the_account_limits_then_the_source_limits_are_checked_and_each_refusal_is_recorded_and_published() -> None:
    risk = gate(manual=SourceLimitsConfig(max_loss_per_group=500.0, max_open_groups=1))
    published: list[RefusalRecord] = []
    risk.msgbus.subscribe(REFUSALS_TOPIC, published.append)
    assert account_risk(risk.msgbus) is risk  # how the traders and the API find it
    assert risk.check("autonomous", "iron_condor", 2, ENTRY) is None  # no autonomous limits of its own
    refusal = risk.check("manual", "bull_call_spread", 4, ENTRY)
    assert refusal is not None and (refusal.scope, refusal.limit) == ("manual", "max_open_groups")
    assert risk.check("manual", "bull_call_spread", 4, ENTRY, replaces=True).limit == "max_loss_per_group"
    assert [(r.source, r.limit, r.units) for r in published] == [
        ("manual", "max_open_groups", 4), ("manual", "max_loss_per_group", 4),
    ]  # fmt: skip
    assert risk.refusals == published
    risk.on_stop()
    rows = cached_refusals(risk.cache)
    assert [row["limit"] for row in rows] == ["max_open_groups", "max_loss_per_group"]
    assert rows[0]["at"].startswith("1970-01-01T00:00:00")


def test_a_full_account_refuses_every_source_but_lets_a_roll_replace_its_group() -> None:
    risk = FixedBook(AccountRiskConfig(limits=RiskLimitsConfig(max_open_groups=2)), {None: BOOK})
    for source in ("autonomous", "manual", "recurring"):
        refusal = risk.check(source, "iron_condor", 1, ENTRY)
        assert refusal is not None and (refusal.limit, refusal.usage, refusal.value) == ("max_open_groups", 2, 2)
    assert risk.check("autonomous", "iron_condor", 1, ENTRY, replaces=True) is None


def test_usage_lists_every_account_limit_and_the_sources_set_limits() -> None:
    rows = gate(manual=SourceLimitsConfig(max_loss_per_group=500.0)).usage()
    assert [(r.scope, r.limit) for r in rows][-1] == ("manual", "max_loss_per_group")
    assert {(r.limit, r.usage) for r in rows if r.scope == "account"} >= {
        ("max_open_groups", 2),
        ("max_abs_delta", 120.0),
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"sources": {"bot": {}}}, "unknown source 'bot'"),
        ({"sources": {"manual": {"max_loss": 1}}}, "unknown key 'max_loss'"),
        ({"limits": {"max_open_group": 1}}, "unknown key 'max_open_group'"),
        ({"sources": {"manual": {"max_abs_delta": -5}}}, "risk.max_abs_delta must be > 0"),
    ],
)
def test_the_run_config_names_a_bad_key(config: dict, message: str) -> None:
    spec = ComponentSpec(
        "actors", 0, "hybrid.risk.account:AccountRisk", "hybrid.risk.account:AccountRiskConfig", config
    )
    with pytest.raises(ConfigError, match=message):
        importable(spec, "run.toml")


def test_an_entry_accepted_earlier_in_the_instant_counts_before_its_orders_reach_the_book() -> None:
    risk = FixedBook(AccountRiskConfig(limits=RiskLimitsConfig(max_open_groups=3, max_abs_delta=190.0)), {None: BOOK})
    assert risk.check("autonomous", "iron_condor", 1, ENTRY, group_id="G-1") is None  # 2 open + this one
    refusal = risk.check("manual", "iron_condor", 1, ENTRY)
    assert refusal is not None and (refusal.limit, refusal.usage) == ("max_open_groups", 3)
    assert risk.check("manual", "iron_condor", 1, ENTRY, replaces=True).limit == "max_abs_delta"  # 120 + 40 + 40
    risk.clock.advance_time(1_000)  # the instant is over: the group book holds what was sent
    assert risk.check("manual", "iron_condor", 1, ENTRY) is None

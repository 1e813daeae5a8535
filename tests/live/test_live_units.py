"""The live node's pieces on their own: moving history to the present, spread quotes from legs, IB settings and
the gateway check, the chain subscriptions of a broker feed, the live settings, the node config, and queued
orders turned into group commands."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.data import QuoteTick, TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import InstrumentId, TradeId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from hybrid.live.chain_quotes import ChainQuotesConfig, near_the_money
from hybrid.live.ib import GatewayUnreachable, IbSettings, check_reachable
from hybrid.live.node import load_live_settings, node_config
from hybrid.live.paper_book import PaperBook
from hybrid.live.queue_commands import CommandBuilder, CommandError, group_id_for
from hybrid.live.shift import NS_PER_DAY, TimeShift, restamp
from hybrid.live.spread_quotes import SpreadQuoter, spread_quote
from hybrid.options.chain import contract_expiry, make_option_spread
from hybrid.options.instruments import expiry_close_ns, make_equity, make_option
from hybrid.options.iv_data import AtmImpliedVol
from hybrid.orders import ORDER_INTENT, OrderQueue
from hybrid.runconfig.settings import ConfigError
from hybrid.store.db import Database
from hybrid.tracking import rebuild_groups
from hybrid.trading import CloseGroup, ExecutionConfig, OpenGroup

ROOT = Path(__file__).resolve().parents[2]
EXPIRY = dt.date(2024, 1, 19)
NOW = expiry_close_ns(dt.date(2024, 1, 2)) - 6 * 3_600 * 1_000_000_000  # 10:00 New York, 2024-01-02


def quote(instrument, bid: str, ask: str, bid_size: int = 10, ask_size: int = 20, ts: int = NOW) -> QuoteTick:
    return QuoteTick(
        instrument.id,
        Price.from_str(bid),
        Price.from_str(ask),
        Quantity.from_int(bid_size),
        Quantity.from_int(ask_size),
        ts,
        ts,
    )


# -- moving history to the present -----------------------------------------------------------------


def test_shift_is_the_nearest_whole_days_and_moves_expiry_symbol_and_activation() -> None:
    option = make_option("SPY", EXPIRY, "C", 450, activation_ns=NOW - NS_PER_DAY)
    start = NOW + 1000 * NS_PER_DAY + 11 * 3_600 * 1_000_000_000  # 1000 days and 11 hours later
    shift = TimeShift.onto(NOW, start)
    assert shift.days == 1000
    moved = shift.instrument(option, start)
    assert contract_expiry(moved) == EXPIRY + dt.timedelta(days=1000)
    assert moved.id.value == f"SPY   {EXPIRY + dt.timedelta(days=1000):%y%m%d}C00450000.OPRA"
    assert moved.expiration_ns == option.expiration_ns + 1000 * NS_PER_DAY
    assert moved.activation_ns == option.activation_ns + 1000 * NS_PER_DAY <= start
    late = shift.instrument(make_option("SPY", EXPIRY, "P", 450, activation_ns=NOW + NS_PER_DAY), start)
    assert late.activation_ns == start  # listed when the replay starts: active from then on
    equity = shift.instrument(make_equity("SPY"), start)
    assert equity.id == InstrumentId.from_str("SPY.OPRA") and equity.ts_init == start
    assert TimeShift.onto(NOW, start + 2 * 3_600 * 1_000_000_000).days == 1001  # 13 hours rounds up
    assert shift.symbol("SPYX") == "SPYX"


def test_restamp_gives_replayed_data_the_listed_id_and_the_publication_time() -> None:
    option = make_option("SPY", EXPIRY, "C", 450)
    listed = InstrumentId.from_str("SPY   261127C00450000.OPRA")
    moved = restamp(quote(option, "1.00", "1.10"), listed, 42)
    assert (moved.instrument_id, moved.ts_event, moved.ts_init, str(moved.bid_price)) == (listed, 42, 42, "1.00")
    trade = TradeTick(option.id, Price.from_str("1.05"), Quantity.from_int(3), AggressorSide.BUYER, TradeId("T1"), 1, 1)
    assert restamp(trade, listed, 7).ts_event == 7
    record = AtmImpliedVol(instrument_id=InstrumentId.from_str("SPY.OPRA"), iv_30d=0.2, ts_event=1, ts_init=1)
    wrapped = restamp(record, record.instrument_id, 9)
    assert (wrapped.data.iv_30d, wrapped.data.ts_init) == (0.2, 9)
    with pytest.raises(TypeError, match="only QuoteTick"):
        restamp(make_equity("SPY"), listed, 1)


# -- spread quotes ---------------------------------------------------------------------------------------


def test_spread_quote_crosses_the_legs_and_takes_the_smallest_size() -> None:
    long_call, short_call = make_option("SPY", EXPIRY, "C", 450), make_option("SPY", EXPIRY, "C", 455)
    spread = make_option_spread([(long_call, 1), (short_call, -2)])
    legs = {
        long_call.id: quote(long_call, "5.00", "5.20", 30, 40),
        short_call.id: quote(short_call, "2.00", "2.10", 8, 50),
    }
    tick = spread_quote(spread, legs, NOW)
    assert (str(tick.bid_price), str(tick.ask_price)) == ("0.80", "1.20")  # 5.00 - 2 x 2.10, 5.20 - 2 x 2.00
    assert (tick.bid_size, tick.ask_size) == (
        Quantity.from_int(25),
        Quantity.from_int(4),
    )  # min(30, 50/2), min(40, 8/2)
    assert spread_quote(spread, {long_call.id: legs[long_call.id]}, NOW) is None


def test_quoter_quotes_a_subscribed_spread_at_once_then_per_leg_quote_within_its_interval() -> None:
    low, high = make_option("SPY", EXPIRY, "C", 450), make_option("SPY", EXPIRY, "C", 455)
    spread = make_option_spread([(low, 1), (high, -1)])
    quoter = SpreadQuoter()
    assert quoter.on_quote(quote(low, "5.00", "5.20")) == []
    assert quoter.subscribe(spread, update_interval_seconds=60) is None  # one leg has no quote yet
    (first,) = quoter.on_quote(quote(high, "2.00", "2.10"))
    assert first.instrument_id == spread.id and spread.id in quoter
    assert quoter.on_quote(quote(low, "5.10", "5.30", ts=NOW + 30 * 1_000_000_000)) == []  # within 60 s
    assert len(quoter.on_quote(quote(low, "5.10", "5.30", ts=NOW + 61 * 1_000_000_000))) == 1
    quoter.unsubscribe(spread.id)
    assert quoter.on_quote(quote(high, "2.00", "2.10", ts=NOW + 999 * 1_000_000_000)) == []


# -- Interactive Brokers ---------------------------------------------------------------------------------


def test_ib_settings_come_from_the_environment_and_hide_the_account() -> None:
    settings = IbSettings.from_env(
        {"IB_HOST": "10.0.0.5", "IB_PORT": "7497", "IB_CLIENT_ID": "7", "IB_ACCOUNT_ID": "DU1234567"}
    )
    assert (settings.host, settings.port, settings.client_id, settings.account_id) == ("10.0.0.5", 7497, 7, "DU1234567")
    assert "DU1234567" not in repr(settings)
    assert IbSettings.from_env({}) == IbSettings()
    with pytest.raises(ConfigError, match="IB_PORT must be an integer from 1 to 65535, got 'gateway'"):
        IbSettings.from_env({"IB_PORT": "gateway"})


def test_the_account_id_can_come_from_a_file_outside_the_repository(tmp_path: Path) -> None:
    path = tmp_path / "ib_account"
    path.write_text("DU7654321\n", encoding="utf-8")
    assert IbSettings.from_env({"IB_ACCOUNT_ID_FILE": str(path)}).account_id == "DU7654321"
    with pytest.raises(ConfigError, match="not both"):
        IbSettings.from_env({"IB_ACCOUNT_ID_FILE": str(path), "IB_ACCOUNT_ID": "DU1"})
    with pytest.raises(ConfigError, match=r"IB_ACCOUNT_ID_FILE .* cannot be read"):
        IbSettings.from_env({"IB_ACCOUNT_ID_FILE": str(tmp_path / "missing")})
    path.write_text("DU7654321 DU1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="one account id on one line") as failure:
        IbSettings.from_env({"IB_ACCOUNT_ID_FILE": str(path)})
    assert "DU7654321" not in str(failure.value)


def test_gateway_check_fails_fast_with_one_line_and_passes_a_listener() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        check_reachable(IbSettings(port=port), timeout=1.0)
    with pytest.raises(GatewayUnreachable) as failure:
        check_reachable(IbSettings(port=port), timeout=1.0)  # closed now: nothing listens
    assert f"127.0.0.1:{port}" in str(failure.value) and "\n" not in str(failure.value)


def test_broker_feed_quotes_the_strikes_nearest_the_money_inside_the_window() -> None:
    today = dt.date(2024, 1, 2)
    contracts = [
        make_option("SPY", expiry, right, strike)
        for expiry in (dt.date(2024, 1, 5), dt.date(2024, 1, 19), dt.date(2024, 6, 21))
        for right in ("C", "P")
        for strike in range(440, 461, 5)
    ]
    config = ChainQuotesConfig(min_dte=1, max_dte=30, strikes_around=2, max_instruments=6)
    picked = near_the_money(contracts, spot=451.0, today=today, config=config)
    assert [(contract_expiry(c), float(c.strike_price)) for c in picked] == [
        (dt.date(2024, 1, 5), 450.0),
        (dt.date(2024, 1, 5), 455.0),
        (dt.date(2024, 1, 5), 450.0),
        (dt.date(2024, 1, 5), 455.0),
        (dt.date(2024, 1, 19), 450.0),
        (dt.date(2024, 1, 19), 455.0),
    ]


# -- settings and the node config -------------------------------------------------------------------------


def test_live_settings_reject_bad_input_in_one_line(small_catalog: Path, tmp_path: Path) -> None:
    config = ROOT / "configs" / "live_paper.toml"
    with pytest.raises(ConfigError, match="--mode must be one of paper, ib, got 'live'"):
        load_live_settings(config, "live", small_catalog)
    with pytest.raises(ConfigError, match="--speed: speed must be"):
        load_live_settings(config, "paper", small_catalog, speed=0)
    with pytest.raises(ConfigError, match="is missing or empty"):
        load_live_settings(config, "paper", tmp_path / "nothing")


def test_paper_config_runs_the_backtest_components_with_the_nodes_database(
    small_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HYBRID_DB", str(tmp_path / "state.sqlite"))
    settings = load_live_settings(ROOT / "configs" / "live_paper.toml", "paper", small_catalog, speed=10)
    config = node_config(settings)
    assert settings.has_drainer and settings.underlyings == ["SPY"] and settings.rate == pytest.approx(0.045)
    assert [s.strategy_path for s in config.strategies] == [
        "strategies.order_desk:OrderDesk",
        "strategies.iv_rank:IVRankStrategy",
    ]
    actors = {a.actor_path: a.config for a in config.actors}
    assert "hybrid.risk.margin:OptionsMarginInstaller" in actors
    assert actors["hybrid.management.bot_manager:BotManager"]["database"] == str(tmp_path / "state.sqlite")
    assert actors["hybrid.live.drainer:QueueDrainer"]["venue_restarts_empty"] is True
    assert [a.exec_algorithm_path for a in config.exec_algorithms] == ["hybrid.execution.two_part:TwoPart"]
    assert config.data_engine.graceful_shutdown_on_exception and config.exec_engine.graceful_shutdown_on_exception
    assert config.risk_engine.graceful_shutdown_on_exception and config.catalogs == []
    ib = node_config(
        load_live_settings(ROOT / "configs" / "live_paper.toml", "ib", small_catalog, env={"IB_PORT": "4002"})
    )
    assert set(ib.data_clients) == set(ib.exec_clients) == {"IB"}
    ib_actors = {a.actor_path: a.config for a in ib.actors}
    assert "hybrid.live.chain_quotes:ChainQuotes" in ib_actors
    assert ib_actors["hybrid.live.drainer:QueueDrainer"]["venue_restarts_empty"] is False  # a broker keeps its orders
    assert ib_actors["hybrid.live.order_refs:OrderRefJournal"]["database"] == str(tmp_path / "state.sqlite")
    assert [c.path for c in ib.catalogs] == [str(small_catalog)]


def test_paper_book_reads_back_what_it_journalled_and_keeps_its_listing_while_it_holds_orders(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.sqlite")
    book = PaperBook(db)
    assert not book.load()
    assert book.listing_shift("OPRA", 1060) == 1060
    assert book.listing_shift("OPRA", 1063) == 1063  # no orders yet: each start lists for its own day
    spread = make_option_spread([(make_option("SPY", EXPIRY, "C", 450), 1), (make_option("SPY", EXPIRY, "C", 455), -1)])
    order = TestExecStubs.limit_order(instrument=spread)
    state = TestEventStubs.margin_account_state()
    book.record_instrument(spread).result()
    assert book.record_instrument(spread) is None  # once
    book.record_event(order.init_event).result()
    book.record_account(state).result()
    again = PaperBook(Database(tmp_path / "state.sqlite")).load()
    assert [i.id for i in again.instruments] == [spread.id]
    assert again.events == [order.init_event] and again.events[0].tags == order.init_event.tags
    assert again.account == state
    assert book.listing_shift("OPRA", 1066) == 1063  # a book with orders keeps the days its contracts were listed by


# -- queued orders as group commands ----------------------------------------------------------------------


@pytest.fixture
def market() -> Cache:
    cache = Cache()
    spy = make_equity("SPY")
    cache.add_instrument(spy)
    cache.add_quote_tick(quote(spy, "450.00", "450.02"))
    for strike in range(440, 461, 5):
        for right in ("C", "P"):
            option = make_option("SPY", EXPIRY, right, strike, activation_ns=NOW - NS_PER_DAY)
            cache.add_instrument(option)
            intrinsic = max(450 - strike, 0) if right == "C" else max(strike - 450, 0)
            cache.add_quote_tick(quote(option, f"{intrinsic + 3:.2f}", f"{intrinsic + 3.2:.2f}"))
    return cache


def queued(tmp_path: Path, intent: dict):
    return OrderQueue(Database(tmp_path / "q.sqlite")).submit(ORDER_INTENT.validate_python(intent), "tom")


def test_open_orders_become_commands_answerable_by_their_order_id(market: Cache, tmp_path: Path) -> None:
    builder = CommandBuilder(market, rebuild_groups(market).get, "OPRA", rate=0.045, dividend=0.013)
    structure = {"type": "catalogue", "strategy": "bull_call_spread", "strikes": [445, 455], "expiries": [str(EXPIRY)]}
    order = queued(
        tmp_path,
        {
            "kind": "open",
            "underlying": "SPY",
            "structure": structure,
            "side": "sell",
            "units": 3,
            "execution": {"type": "two_part", "first_fraction": 0.5},
        },
    )
    command = builder.command(order, NOW)
    assert isinstance(command, OpenGroup)
    assert (command.command_id, command.group_id, command.units, command.structure) == (
        order.order_id,
        group_id_for(order.order_id),
        3,
        "bull_call_spread",
    )
    assert [(leg.strike, leg.quantity) for leg in command.legs] == [(445, -1), (455, 1)]  # sold: negated
    assert command.execution == ExecutionConfig(
        mode="two_part", exec_algorithm_id="TwoPart", exec_algorithm_params={"first_fraction": 0.5}
    )
    rules = {
        "type": "rules",
        "strategy": "naked_call",
        "strikes": [{"by": "atm_offset", "steps": 1}],
        "expiries": [{"min_dte": 10, "max_dte": 20}],
    }
    resolved = builder.command(
        queued(
            tmp_path,
            {"kind": "open", "underlying": "SPY", "structure": rules, "units": 1, "execution": {"type": "market"}},
        ),
        NOW,
    )
    assert [(leg.kind, leg.strike, leg.expiry) for leg in resolved.legs] == [("call", 455.0, EXPIRY)]
    assert resolved.execution.mode == "market"


def test_close_and_roll_orders_name_their_group_and_refuse_what_cannot_be_done(market: Cache, tmp_path: Path) -> None:
    builder = CommandBuilder(market, rebuild_groups(market).get, "OPRA", rate=0.045, dividend=0.013)
    close = queued(
        tmp_path, {"kind": "close", "group_id": "G-1", "units": 2, "execution": {"type": "limit", "price": 1.5}}
    )
    command = builder.command(close, NOW)
    assert command == CloseGroup("G-1", 2, None, 1.5, f"order {close.order_id}", command_id=close.order_id)
    roll = queued(
        tmp_path, {"kind": "roll", "group_id": "G-1", "expiries": ["2024-02-16"], "execution": {"type": "market"}}
    )
    with pytest.raises(CommandError, match="group G-1 is not open"):
        builder.command(roll, NOW)
    empty = CommandBuilder(Cache(), lambda _: None, "OPRA", 0.045, 0.013)
    rules = {
        "type": "rules",
        "strategy": "naked_call",
        "strikes": [{"by": "atm_offset", "steps": 0}],
        "expiries": [{"min_dte": 1, "max_dte": 9}],
    }
    with pytest.raises(CommandError, match=r"no quoted market for SPY\.OPRA"):
        empty.command(
            queued(
                tmp_path,
                {"kind": "open", "underlying": "SPY", "structure": rules, "units": 1, "execution": {"type": "market"}},
            ),
            NOW,
        )

"""Shared set-up of the API tests: one finished backtest engine per session, tokens, apps and servers.

The engine's cache (instruments, last quotes, tagged orders and fills of the spread demo) is what a
live node would hand the API; the backtest runs once per test session and stays open until exit,
because disposing of it empties the cache.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import datetime as dt
import functools
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI

from hybrid.api.app import create_app
from hybrid.api.auth import ROLES, TokenRegistry, generate_token, parse_tokens_env
from hybrid.api.context import ApiContext
from hybrid.api.engine_view import CacheEngineView, EngineView
from hybrid.api.ratelimit import RateLimit, RateLimiter
from hybrid.api.server import ServerThread
from hybrid.api.ws import Hub
from hybrid.backtest import run_backtest
from hybrid.calendar.exchange_time import new_york_date
from hybrid.options.catalogue.structure import format_number
from hybrid.runconfig import load_settings
from hybrid.runconfig.manifest import CatalogManifest
from hybrid.store.db import Database

CONFIG = Path(__file__).with_name("api_backtest.toml")
VIEWER, TRADER, ADMIN = (generate_token() for _ in range(3))
TOKENS = f"vera:viewer:{VIEWER},tom:trader:{TRADER},ada:admin:{ADMIN}"
UNLIMITED = {role: RateLimit(rate=1e6, burst=1_000_000) for role in ROLES}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def registry() -> TokenRegistry:
    return TokenRegistry(parse_tokens_env(TOKENS))


@functools.cache
def engine_kernel(catalog: Path) -> object:
    """The kernel of a finished backtest over ``catalog``, kept alive for the rest of the process."""
    stack = contextlib.ExitStack()
    run = stack.enter_context(run_backtest(load_settings(CONFIG, catalog=catalog)))
    atexit.register(stack.close)
    return run.engine.kernel


def engine_view(catalog: Path) -> CacheEngineView:
    """The view of the session's engine, with the catalog's rate and dividend yield."""
    extra = CatalogManifest.read(catalog).extra
    return CacheEngineView.from_kernel(engine_kernel(catalog), rate=extra["rate"], dividend=extra["dividend_yield"])


def make_context(catalog: Path, db_path: Path) -> ApiContext:
    return ApiContext.open(engine_view(catalog), Database(db_path))


def make_app(context: ApiContext, limits: dict | None = None) -> FastAPI:
    return create_app(context, tokens=registry(), limiter=RateLimiter(limits or UNLIMITED))


@contextlib.contextmanager
def serve(context: ApiContext, limits: dict | None = None) -> Iterator[str]:
    """The app over ``context`` on 127.0.0.1 at a free port; yields its base URL."""
    with ServerThread(make_app(context, limits)) as url:
        yield url


@dataclasses.dataclass(frozen=True)
class Market:
    """What the session's engine holds that the tests rely on, read from the engine itself so that the
    tests follow the generated data: the spread demo leaves closed groups and one open bull call spread."""

    open_group: str
    closed_group: str
    units: float  # the open group's units
    expiry: dt.date  # the open group's expiry
    dte: int  # its days to expiry from the engine's date
    expiries: tuple[dt.date, ...]  # listed, ascending
    strikes: tuple[float, ...]  # listed call strikes of ``expiry``, ascending
    spot: float

    @property
    def spread(self) -> dict:
        """A listed bull call spread: the listed strikes nearest 5 below and 5 above the spot."""
        low = min(self.strikes, key=lambda k: abs(k - (self.spot - 5)))
        high = min((k for k in self.strikes if k > low), key=lambda k: abs(k - (self.spot + 5)))
        strikes, expiries = [low, high], [str(self.expiry)]
        return {"type": "catalogue", "strategy": "bull_call_spread", "strikes": strikes, "expiries": expiries}

    def unlisted_strike(self, above: float) -> tuple[float, str]:
        """A strike between the listed one ``above`` and the next, and the chain's "nearest listed" text."""
        index = self.strikes.index(above)
        low, high = self.strikes[index : index + 2]
        return (low + high) / 2, f"nearest listed: {format_number(low)}, {format_number(high)}"

    def unlisted_expiry(self, after: dt.date) -> tuple[dt.date, str]:
        """A day after the listed expiry ``after`` that is not listed, and the "nearest listed" text."""
        index = self.expiries.index(after)
        return after + dt.timedelta(days=1), f"nearest listed: {after}, {self.expiries[index + 1]}"


def market(view: EngineView) -> Market:
    groups = view.groups()
    (held,) = [group for group in groups if group.status == "open"]
    closed = next(group for group in groups if group.status == "closed")
    expiry = min(leg.expiry for leg in held.legs if leg.expiry is not None)
    chain = view.chain(held.underlying)
    return Market(
        open_group=held.group_id,
        closed_group=closed.group_id,
        units=held.units,
        expiry=expiry,
        dte=(expiry - new_york_date(view.now())).days,
        expiries=chain.expiries,
        strikes=chain.strikes(expiry, "call"),
        spot=view.underlying_quote(held.underlying).mid,
    )


def second(context: ApiContext) -> ApiContext:
    """The same engine and stores for a second app, with its own WebSocket hub."""
    return dataclasses.replace(context, hub=Hub())

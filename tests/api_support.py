"""Shared set-up of the API tests: one finished backtest engine per session, tokens, apps and servers.

The engine's cache (instruments, last quotes, tagged orders and fills of the spread demo) is what a
live node would hand the API; the backtest runs once per test session and stays open until exit,
because disposing of it empties the cache.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI

from hybrid.api.app import create_app
from hybrid.api.auth import ROLES, TokenRegistry, generate_token, parse_tokens_env
from hybrid.api.context import ApiContext
from hybrid.api.engine_view import CacheEngineView
from hybrid.api.ratelimit import RateLimit, RateLimiter
from hybrid.api.server import ServerThread
from hybrid.backtest import load_settings, run_backtest
from hybrid.catalog_manifest import CatalogManifest
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

"""``run_live.py``: the live node and the control API in one process (see docs/live.md).

Exit codes: 0 after SIGINT or SIGTERM (state saved), 1 when the node or the API stopped by itself,
2 for bad input (options, config file, catalog, port, API tokens), 3 when IB Gateway/TWS is not reachable.
Every failure before the node runs is one line on stderr.

Binding: the API listens on 127.0.0.1 unless ``--host`` says otherwise; a host that is not loopback needs
``--allow-remote``, and then either TLS (``--ssl-certfile`` and ``--ssl-keyfile``, served as https) or
it prints a warning that tokens will cross the network in clear text.

Garbage collection: the engine, the replay and every API request take turns on one thread, so a full
collection holds them all up for as long as it takes to scan every object of the process. Start-up makes
most of them (modules, classes, the node: about 190,000 objects in a paper node) and they live until exit,
so they are frozen (``gc.freeze``) just before the node runs and a full collection scans only what the
session made since. In the benchmark's paper node (bench/live_book.py) scanning start-up's objects alone
took 80 ms, a pause every full collection would add on top of the session's own objects.

Thread switches: the order journal's SQLite writer thread (:meth:`hybrid.store.db.Database.write`) gives up
the GIL in every statement and must get it back from the event loop's thread, which CPython makes it wait
for up to the switch interval. At the default 5 ms a busy loop held each journaled order up for several
such waits (about 37 submits/s through the real socket); at 0.5 ms the writer keeps up, and the loop's own
waits for the GIL (after a read, a socket send) shrink the same way.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from argparse import Namespace
from pathlib import Path
from typing import Any

from hybrid.api.auth import is_loopback
from hybrid.cli.parser import OneLineParser, UsageError, positive_float
from hybrid.live.ib import GatewayUnreachable, check_reachable
from hybrid.live.node import DRAINER_PATH, MODES, build_node, load_live_settings
from hybrid.live.service import api_app, api_context, api_server, check_api_settings, listen, run
from hybrid.live.stores import close_shared, shared_database
from hybrid.nautilus_compat.interactive_brokers import limit_connection_attempts
from hybrid.runconfig.settings import ConfigError
from hybrid.store.db import default_db_path

PROG = "run_live.py"
DEFAULT_CONFIG = "configs/live_paper.toml"
SWITCH_INTERVAL = 0.0005  # seconds a thread may hold the GIL while another waits (CPython's default: 0.005)


def parser() -> OneLineParser:
    p = OneLineParser(prog=PROG, description="Live node (paper replay or Interactive Brokers) with the control API.")
    p.add_argument(
        "--mode", choices=MODES, default="paper", help="paper: replay + simulated venue (default); ib: IB Gateway/TWS"
    )
    p.add_argument("--host", default="127.0.0.1", help="API address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="API port (default 8000; 0 picks a free one)")
    p.add_argument(
        "--speed", type=positive_float, default=1.0, help="paper: catalog seconds replayed per second (default 1)"
    )
    p.add_argument(
        "--config", default=DEFAULT_CONFIG, help=f"run config, the backtest's schema (default {DEFAULT_CONFIG})"
    )
    p.add_argument("--catalog", help="catalog directory (overrides the file's catalog)")
    p.add_argument(
        "--insecure-local", action="store_true", help="no API tokens: every request on a loopback host is admin"
    )
    p.add_argument("--allow-remote", action="store_true", help="allow a --host other machines can reach")
    p.add_argument("--ssl-certfile", help="TLS certificate (PEM) for the API; with --ssl-keyfile it serves https")
    p.add_argument("--ssl-keyfile", help="TLS private key (PEM) of --ssl-certfile")
    return p


def tls_options(args: Namespace) -> dict[str, Any]:
    """uvicorn's TLS options from the flags, after checking where the API may listen (a :class:`UsageError`).

    A non-loopback ``--host`` needs ``--allow-remote``; without TLS it is allowed with a warning on stderr."""
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise UsageError("--ssl-certfile and --ssl-keyfile go together: give both or neither")
    for flag, path in (("--ssl-certfile", args.ssl_certfile), ("--ssl-keyfile", args.ssl_keyfile)):
        if path and not Path(path).is_file():
            raise UsageError(f"{flag}: no such file {path}")
    if not is_loopback(args.host):
        if not args.allow_remote:
            raise UsageError(
                f"--host {args.host} is reachable from other machines: add --allow-remote "
                "(and --ssl-certfile/--ssl-keyfile for TLS), or keep the default 127.0.0.1"
            )
        if not args.ssl_certfile:
            print(
                f"{PROG}: warning: serving the API on {args.host} over plain HTTP: tokens and orders cross "
                "the network unencrypted; give --ssl-certfile/--ssl-keyfile or put a TLS proxy in front",
                file=sys.stderr,
            )
    return {"ssl_certfile": args.ssl_certfile, "ssl_keyfile": args.ssl_keyfile} if args.ssl_certfile else {}


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        tls = tls_options(args)
        settings = load_live_settings(args.config, args.mode, args.catalog, args.speed)
        check_api_settings(args.host, args.insecure_local)
        if settings.ib is not None:
            limit_connection_attempts()
            check_reachable(settings.ib)
        sock = listen(args.host, args.port)
    except (UsageError, ConfigError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except GatewayUnreachable as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 3
    if not settings.has_drainer:
        print(
            f"{PROG}: warning: {args.config} has no [[actors]] {DRAINER_PATH}: API orders will stay queued",
            file=sys.stderr,
        )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = build_node(settings, loop)
    db = shared_database(default_db_path())  # the paper venue's book and the API's queue share its writer
    context = api_context(node, settings, db)
    try:
        app = api_app(context, args.host, args.insecure_local)
        host, port = sock.getsockname()[:2]
        scheme = "https" if tls else "http"
        print(
            f"{PROG}: {settings.mode} node {settings.run.name!r}, API at {scheme}://{host}:{port}",
            file=sys.stderr,
            flush=True,
        )
        gc.freeze()  # start-up's objects: out of every later collection (module docstring)
        sys.setswitchinterval(SWITCH_INTERVAL)  # the SQLite writer thread's turns (module docstring)
        failure = loop.run_until_complete(run(node, api_server(app, args.host, port, **tls), sock))
    finally:
        node.dispose()
        if context.fill_stats is not None:
            context.fill_stats.flush()
        close_shared()  # closes db
    if failure is not None:
        print(f"{PROG}: error: {failure}", file=sys.stderr)
        return 1
    print(f"{PROG}: stopped; state saved", file=sys.stderr)
    return 0

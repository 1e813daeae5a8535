"""Serving the API with uvicorn: on the live node's event loop, or in a thread for tests and benchmarks.

``make_server(app)`` gives a ``uvicorn.Server`` bound to 127.0.0.1 by default; the live node awaits
``server.serve()`` on the loop its ``TradingNode`` runs on, so API handlers and engine components take
turns on one loop and never race. :class:`ServerThread` runs one on its own loop in a background thread
(loopback only) and tells the port it got, for in-process tests and benchmarks.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI

from hybrid.api.auth import is_loopback

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def make_server(
    app: FastAPI, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, log_level: str = "warning", **options: Any
) -> uvicorn.Server:
    """A uvicorn server for ``app``; ``options`` are further uvicorn ``Config`` options (loop, ...)."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, **options)
    return uvicorn.Server(config)


class ServerThread:
    """``with ServerThread(app) as url:`` serves ``app`` on 127.0.0.1 (a free port by default) until the block ends."""

    def __init__(self, app: FastAPI, host: str = DEFAULT_HOST, port: int = 0, start_timeout: float = 20.0) -> None:
        if not is_loopback(host):
            raise ValueError(f"ServerThread only listens on a loopback host such as 127.0.0.1, not {host!r}")
        self.server = make_server(app, host, port)
        self.host = host
        self.start_timeout = start_timeout
        self.port = 0
        self._thread = threading.Thread(target=self.server.run, name="api-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start within {self.start_timeout:g} s")
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self.url

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)

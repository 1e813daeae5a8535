"""Upstream fact behind :mod:`hybrid.nautilus_compat.interactive_brokers`; fails once upstream changes it."""

from __future__ import annotations

import inspect

from nautilus_trader.adapters.interactive_brokers.client.client import InteractiveBrokersClient

from hybrid.nautilus_compat.interactive_brokers import MAX_CONNECTION_ATTEMPTS_ENV, limit_connection_attempts


def test_ib_client_still_reads_its_attempt_limit_from_the_environment_with_forever_as_default() -> None:
    source = inspect.getsource(InteractiveBrokersClient.__init__)
    assert f'os.getenv("{MAX_CONNECTION_ATTEMPTS_ENV}", "0")' in source


def test_one_attempt_unless_the_environment_says_otherwise() -> None:
    env: dict[str, str] = {}
    limit_connection_attempts(env)
    assert env == {MAX_CONNECTION_ATTEMPTS_ENV: "1"}
    env = {MAX_CONNECTION_ATTEMPTS_ENV: "5"}
    limit_connection_attempts(env)
    assert env == {MAX_CONNECTION_ATTEMPTS_ENV: "5"}

"""Dispatchers over intents, executions and group commands have one case per kind: anything else is an error
(and a new kind a type error under mypy), never the roll path that used to be the ``else`` branch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from nautilus_trader.cache.cache import Cache

from hybrid.api import validation
from hybrid.live.queue_commands import CommandBuilder
from hybrid.management.intent_commands import execution_for
from hybrid.trading import GroupTrader

UNREACHABLE = "Expected code to be unreachable, but got: <unknown kind>"


class UnknownKind:
    """Stands for an intent, execution or command kind added without a case in the dispatchers."""

    kind = "roll"  # even a roll-looking newcomer must not pass as a roll

    def __repr__(self) -> str:
        return "<unknown kind>"


def _no_roll(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("routed to the roll path")


def test_the_api_checks_refuse_an_unknown_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "check_roll", _no_roll)
    with pytest.raises(AssertionError, match=UNREACHABLE):
        validation.check_intent(SimpleNamespace(), UnknownKind())  # type: ignore[arg-type]


def test_the_queue_builds_no_command_from_an_unknown_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(CommandBuilder, "_rolled_legs", _no_roll)
    builder = CommandBuilder(Cache(), lambda _: None, "OPRA", 0.045, 0.013)
    order = SimpleNamespace(order_id="1", intent=UnknownKind())
    with pytest.raises(AssertionError, match=UNREACHABLE):
        builder.command(order, 0)  # type: ignore[arg-type]


def test_an_unknown_execution_maps_to_no_execution_config() -> None:
    with pytest.raises(AssertionError, match=UNREACHABLE):
        execution_for(UnknownKind())  # type: ignore[arg-type]


def test_the_group_trader_runs_no_unknown_command() -> None:
    trader = SimpleNamespace(open_group=_no_roll, close_group=_no_roll, roll_group=_no_roll)
    with pytest.raises(AssertionError, match=UNREACHABLE):
        GroupTrader.run_command(trader, UnknownKind())  # type: ignore[arg-type]

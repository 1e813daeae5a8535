"""The two-part split of N units, per-order parameters and the algorithm's config checks."""

from __future__ import annotations

import msgspec
import pytest

from hybrid.execution.two_part import TwoPartConfig
from hybrid.execution.two_part_machine import split_units
from hybrid.options.two_part_params import resolve_params
from hybrid.orders.intents import TwoPartExecution


@pytest.mark.parametrize(
    ("units", "parts"),
    [(1, (1,)), (2, (1, 1)), (3, (1, 2)), (4, (1, 3)), (10, (4, 6)), (20, (7, 13)), (100, (35, 65))],
)
def test_split_is_about_35_65_in_whole_units(units: int, parts: tuple[int, ...]) -> None:
    assert split_units(units, 0.35) == parts


def test_split_keeps_both_parts_non_empty() -> None:
    assert split_units(10, 0.01) == (1, 9)
    assert split_units(10, 0.99) == (9, 1)
    with pytest.raises(ValueError, match="units must be at least 1"):
        split_units(0, 0.35)


def test_params_override_the_defaults_and_accept_text() -> None:
    defaults = TwoPartConfig().defaults()
    params = resolve_params(
        defaults, {"mode": "legging", "first_fraction": "0.5", "ladder_steps": "6", "on_deadline": "complete"}
    )
    assert (params.mode, params.first_fraction, params.ladder_steps, params.on_deadline) == (
        "legging",
        0.5,
        6,
        "complete",
    )
    assert params.max_attempts == defaults.max_attempts
    assert resolve_params(defaults, None) == defaults


def test_param_names_are_the_intent_names() -> None:
    intent_fields = set(TwoPartExecution.model_fields) - {"type"}
    defaults = TwoPartConfig().defaults()
    assert resolve_params(defaults, dict.fromkeys(intent_fields)) == defaults  # every name accepted (None = default)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mode": "basket"}, "'mode' must be one of combo, legging, got 'basket'"),
        ({"first_fraction": 1.5}, "'first_fraction' must be a number between 0 and 1"),
        ({"ladder_steps": 2.5}, "'ladder_steps' must be integer-like, got 2.5"),
        ({"max_attempts": 0}, "'max_attempts' must be an integer from 1 to 100"),
        ({"deadline_seconds": "soon"}, "'deadline_seconds' must be float-like, got 'soon'"),
        ({"on_deadline": "wait"}, "'on_deadline' must be one of cancel, complete"),
        ({"speed": 1}, "unknown exec_algorithm_params key 'speed'; valid: mode, first_fraction"),
    ],
)
def test_bad_params_are_named(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        resolve_params(TwoPartConfig().defaults(), params)


def test_config_rejects_bad_values_in_one_line() -> None:
    with pytest.raises(
        msgspec.ValidationError, match=r"TwoPartConfig\.wait_min_seconds must be between 0 and wait_max_seconds"
    ):
        TwoPartConfig.parse(msgspec.json.encode({"wait_min_seconds": 20.0}))
    with pytest.raises(msgspec.ValidationError, match="tick rule must be one of"):
        TwoPartConfig.parse(msgspec.json.encode({"leg_tick_rule": "dime"}))
    with pytest.raises(ValueError, match="'first_fraction' must be a number between 0 and 1"):
        TwoPartConfig(first_fraction=0.0)
    with pytest.raises(ValueError, match=r"TwoPartConfig\.adapt_passive_floor must be in \[0, 1\], got 1.5"):
        TwoPartConfig(adapt_passive_floor=1.5)

"""The circuit breaker's rules: what trips it, what it asks of the risk engine, how it resets."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from hybrid.risk import BreakerState, CircuitBreaker, CircuitBreakerConfig, check_breaker
from hybrid.runconfig import ConfigError, load_settings
from hybrid.runconfig.components import importable
from hybrid.runconfig.settings import ComponentSpec
from tests.support.iv_rank_runs import CONFIG, merged


def ns(text: str) -> int:
    return pd.Timestamp(text, tz="America/New_York").value


class Recorder:
    """Records what the breaker asks of its owner: each trip's state, and each reset as ``ACTIVE``."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str]] = []
        self.logs: list[str] = []

    def breaker(self, **config: object) -> CircuitBreaker:
        return CircuitBreaker(CircuitBreakerConfig(**config), self.respond, self.reactivate, self.logs.append)

    def respond(self, state: BreakerState, reason: str) -> str:
        self.states.append((state, reason))
        return f"did {state}"

    def reactivate(self, reason: str) -> None:
        self.states.append(("ACTIVE", reason))


def test_consecutive_losing_closes_trip_and_a_win_resets_the_count() -> None:
    rec = Recorder()
    b = rec.breaker(max_consecutive_losses=2)
    b.record_close(-10.0, ns("2024-01-02 11:00"))
    b.record_close(5.0, ns("2024-01-02 11:30"))
    b.record_close(-1.0, ns("2024-01-02 12:00"))
    assert b.allows_entry(ns("2024-01-02 12:01"))
    b.record_close(-1.0, ns("2024-01-02 12:30"))
    assert not b.allows_entry(ns("2024-01-02 12:31"))
    assert rec.states == [("REDUCING", "circuit breaker: 2 losing closes in a row (limit 2)")]
    assert "circuit breaker tripped: 2 losing closes in a row (limit 2); REDUCING: did REDUCING" in rec.logs[0]
    assert b.trips[0].to_dict() == {
        "ts_ns": ns("2024-01-02 12:30"),
        "reason": "2 losing closes in a row (limit 2)",
        "state": "REDUCING",
        "action": "did REDUCING",
        "halted_ns": None,
        "reset_ns": None,
        "reset_by": None,
    }


def test_daily_loss_is_measured_from_the_days_first_equity_sample() -> None:
    rec = Recorder()
    b = rec.breaker(daily_loss_limit=500.0, state="HALTED")
    b.record_equity(100_000.0, ns("2024-01-02 09:30"))
    b.record_equity(99_600.0, ns("2024-01-02 12:00"))
    assert not b.tripped
    b.record_equity(99_500.0, ns("2024-01-02 13:00"))
    assert b.tripped and rec.states[0][0] == "HALTED"
    assert "daily loss 500.00 reached the limit 500.00" in b.tripped_reason


def test_rejections_count_only_within_the_window() -> None:
    rec = Recorder()
    b = rec.breaker(max_rejections=3, rejection_window_minutes=10)
    for minute in (0, 8, 15):
        b.record_rejection("denied", ns(f"2024-01-02 10:{minute:02d}"))
    assert not b.tripped  # the first fell out of the window
    b.record_rejection("denied", ns("2024-01-02 10:16"))
    assert b.tripped and "3 rejections within 10 min" in b.tripped_reason


def test_next_day_rule_resets_and_reactivates_trading() -> None:
    rec = Recorder()
    b = rec.breaker(max_consecutive_losses=1)
    b.record_close(-1.0, ns("2024-01-02 15:00"))
    assert not b.allows_entry(ns("2024-01-02 15:59"))
    assert b.allows_entry(ns("2024-01-03 09:31"))
    assert rec.states[-1] == ("ACTIVE", "circuit breaker reset by rule: next trading day")
    assert b.trips[0].reset_ns == ns("2024-01-03 09:31") and b.trips[0].reset_by == "rule: next trading day"


def test_operator_reset_rule_waits_for_the_operator() -> None:
    rec = Recorder()
    b = rec.breaker(max_consecutive_losses=1, reset="operator")
    b.record_close(-1.0, ns("2024-01-02 15:00"))
    assert not b.allows_entry(ns("2024-01-05 10:00"))
    b.halted(ns("2024-01-02 15:05"))
    b.reset("alice", ns("2024-01-05 10:00"))
    assert b.allows_entry(ns("2024-01-05 10:01"))
    assert rec.states[-1] == ("ACTIVE", "circuit breaker reset by alice")
    assert len(b.trips) == 1 and b.trips[0].halted_ns == ns("2024-01-02 15:05")


@pytest.mark.parametrize("state", ["REDUCING", "HALTED", "FLATTEN"])
def test_each_state_is_handed_to_the_owner_once_per_trip(state: str) -> None:
    rec = Recorder()
    b = rec.breaker(max_consecutive_losses=1, state=state)
    b.record_close(-1.0, ns("2024-01-02 11:00"))
    b.record_close(-1.0, ns("2024-01-02 11:30"))
    assert rec.states == [(state, "circuit breaker: 1 losing closes in a row (limit 1)")]
    assert [t.state for t in b.trips] == [state]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("state", "ACTIVE", "breaker.state must be one of REDUCING, HALTED, FLATTEN, got 'ACTIVE'"),
        ("reset", "weekly", "breaker.reset must be one of next_day, operator"),
        ("daily_loss_limit", 0.0, "breaker.daily_loss_limit must be > 0"),
        ("max_rejections", 0, "breaker.max_rejections must be >= 1"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_breaker(CircuitBreakerConfig(**{field: value}))


def test_a_bad_state_in_the_config_file_names_the_field_and_the_valid_ones(tmp_path: Path) -> None:
    spec = load_settings(CONFIG, catalog=tmp_path).components[0]
    config = merged(spec.config, {"breaker": {"state": "STOP"}})
    bad = ComponentSpec(spec.table, spec.index, spec.path, spec.config_path, config)
    with pytest.raises(
        ConfigError, match=re.escape("breaker.state must be one of REDUCING, HALTED, FLATTEN, got 'STOP'")
    ):
        importable(bad, str(CONFIG))

"""Recurring template models: field-level validation, the run intent, entry conditions."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from hybrid.management.entry_conditions import EntryConditions, EntryContext
from hybrid.management.templates import RecurringTemplate, run_key
from hybrid.orders.intents import ORDER_INTENT


def iron_condor_order(**overrides) -> dict:
    """Open 2 iron condors: wings by delta, one 30-45 DTE expiry, two-part execution."""
    deltas = [0.10, 0.20, 0.20, 0.10]
    return {
        "underlying": "SPY",
        "units": 2,
        "execution": {"type": "two_part", "limit_price": -1.20},
        "structure": {
            "type": "rules",
            "strategy": "iron_condor",
            "strikes": [{"by": "delta", "delta": d} for d in deltas],
            "expiries": [{"min_dte": 30, "max_dte": 45}],
        },
        **overrides,
    }


def template(**overrides) -> dict:
    """Every Monday at 09:45 an iron condor if IV rank > 50."""
    return {
        "name": "monday condor",
        "order": iron_condor_order(),
        "schedule": {"kind": "weekly", "weekdays": ["mon"], "at": "09:45"},
        "conditions": {"iv_rank_min": 50},
        **overrides,
    }


def errors(data: dict) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        RecurringTemplate.model_validate(data)
    return [(e["loc"], e["msg"]) for e in caught.value.errors()]


def test_a_valid_template_defaults_to_enabled_recurring_orders_and_round_trips_as_json():
    parsed = RecurringTemplate.model_validate(template())
    assert parsed.enabled and parsed.order.source == "recurring" and parsed.grace_minutes == 30
    assert RecurringTemplate.model_validate_json(parsed.model_dump_json()) == parsed


@pytest.mark.parametrize(
    ("change", "loc", "words"),
    [
        ({"schedule": {"kind": "daily", "at": "08:00"}}, ("schedule", "daily", "at"), "regular session"),
        ({"schedule": {"kind": "daily", "at": "16:00"}}, ("schedule", "daily", "at"), "regular session"),
        (
            {"schedule": {"kind": "weekly", "weekdays": ["mon", "sat"], "at": "10:00"}},
            ("schedule", "weekly", "weekdays", 1),
            "'mon', 'tue', 'wed', 'thu' or 'fri'",
        ),
        (
            {"schedule": {"kind": "weekly", "weekdays": [], "at": "10:00"}},
            ("schedule", "weekly", "weekdays"),
            "at least 1",
        ),
        (
            {"schedule": {"kind": "weekly", "weekdays": ["mon", "mon"], "at": "10:00"}},
            ("schedule", "weekly", "weekdays"),
            "each weekday at most once",
        ),
        ({"schedule": {"kind": "monthly_day", "day": 32, "at": "10:00"}}, ("schedule", "monthly_day", "day"), "31"),
        (
            {"schedule": {"kind": "monthly_day", "day": 15, "at": "10:00", "if_not_trading_day": "later"}},
            ("schedule", "monthly_day", "if_not_trading_day"),
            "'next_trading_day', 'previous_trading_day' or 'skip'",
        ),
        (
            {"schedule": {"kind": "monthly_weekday", "nth": 6, "weekday": "fri", "at": "10:00"}},
            ("schedule", "monthly_weekday", "nth"),
            "-1",
        ),
        ({"schedule": {"kind": "conditional", "every_minutes": 0}}, ("schedule", "conditional", "every_minutes"), "1"),
        ({"schedule": {"kind": "hourly"}}, ("schedule",), "'daily', 'weekly', 'monthly_day'"),
        ({"conditions": {"iv_rank_min": 60, "iv_rank_max": 40}}, ("conditions",), "iv_rank_min (60) must be below"),
        ({"conditions": {"iv_rank_max": 120}}, ("conditions", "iv_rank_max"), "100"),
        (
            {"conditions": {"greeks": [{"greek": "rho", "op": ">", "value": 1}]}},
            ("conditions", "greeks", 0, "greek"),
            "'delta'",
        ),
        ({"conditions": {"max_open_groups": 0}}, ("conditions", "max_open_groups"), "greater than or equal to 1"),
        ({"order": iron_condor_order(units=0)}, ("order", "units"), "greater than or equal to 1"),
        ({"order": iron_condor_order(source="manual")}, ("order",), "source must be 'recurring'"),
        ({"order": iron_condor_order(idempotency_key="k1")}, ("order",), "idempotency_key must be left out"),
        (
            {"order": iron_condor_order(client_metadata={"template_id": 3})},
            ("order",),
            "['template_id'] are set by each run",
        ),
        ({"order": iron_condor_order(client_metadata={f"k{i}": i for i in range(15)})}, ("order",), "at most 14 keys"),
        ({"name": ""}, ("name",), "at least 1 character"),
        ({"grace_minutes": -1}, ("grace_minutes",), "greater than or equal to 0"),
    ],
)
def test_validation_errors_name_the_field(change, loc, words):
    found = errors(template(**change))
    assert len(found) == 1, found
    assert found[0][0] == loc and words in found[0][1], found[0]


def test_the_structure_errors_come_from_the_order_contract():
    order = iron_condor_order()
    order["structure"]["strikes"] = order["structure"]["strikes"][:3]
    [(loc, msg)] = errors(template(order=order))
    assert loc[:2] == ("order", "structure") and "iron_condor takes 4 strikes rules" in msg


def test_each_run_submits_the_order_with_its_own_idempotency_key():
    parsed = RecurringTemplate.model_validate(template())
    at = dt.datetime(2024, 7, 8, 13, 45, tzinfo=dt.UTC)
    intent = parsed.intent_for_run(7, at)
    assert intent.idempotency_key == run_key(7, at) == "template-7-20240708T134500Z"
    assert intent.source == "recurring" and intent.units == 2
    assert intent.client_metadata == {"template_id": 7, "scheduled_at": "2024-07-08T13:45:00.000000+00:00"}
    assert parsed.intent_for_run(7, at + dt.timedelta(days=7)).idempotency_key != intent.idempotency_key
    assert ORDER_INTENT.validate_python(intent.model_dump()) == intent  # still a valid order for the queue


def test_entry_conditions_iv_rank_and_price_levels():
    conditions = EntryConditions(iv_rank_min=50, underlying_above=400, underlying_below=600)
    assert conditions.blockers(EntryContext(iv_rank=55, underlying_price=500)) == []
    assert conditions.blockers(EntryContext(iv_rank=50, underlying_price=500)) == []  # range bounds included
    assert conditions.blockers(EntryContext(iv_rank=42.5, underlying_price=650)) == [
        "IV rank 42.5 < 50",
        "underlying 650 not below 600",
    ]
    assert conditions.blockers(EntryContext()) == ["IV rank unknown", "underlying price unknown"]


def test_entry_conditions_portfolio_greeks_and_the_open_group_cap():
    conditions = EntryConditions.model_validate(
        {
            "greeks": [
                {"greek": "delta", "op": ">", "value": 100},
                {"greek": "vega", "op": "<", "value": 500, "absolute": True},
            ],
            "max_open_groups": 2,
        }
    )
    assert conditions.blockers(EntryContext(portfolio_greeks={"delta": 150, "vega": -300}, open_groups=1)) == []
    assert conditions.blockers(EntryContext(portfolio_greeks={"delta": 80, "vega": -600}, open_groups=2)) == [
        "portfolio delta > 100 is false (delta 80)",
        "portfolio |vega| < 500 is false (vega -600)",
        "2 groups open, cap 2",
    ]
    absolute = EntryConditions(greeks=[{"greek": "delta", "op": ">", "value": 100, "absolute": True}])
    assert absolute.blockers(EntryContext(portfolio_greeks={"delta": -120})) == []
    assert absolute.blockers(EntryContext()) == ["portfolio delta unknown"]

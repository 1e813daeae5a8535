"""Order intents: the API's order contract, with field-level errors for every bad input."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import pytest
from fastapi import Body, FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hybrid.options.catalogue import STRATEGIES, build
from hybrid.options.chain import OptionChain
from hybrid.options.instruments import make_option
from hybrid.options.legs import Leg
from hybrid.orders import intents
from hybrid.orders.chain_check import chain_errors, chain_validator
from hybrid.orders.intents import ORDER_INTENT, STORED_CONTEXT, CloseGroupIntent, OpenIntent, RollGroupIntent

EXPIRY = "2024-06-21"


def open_intent(structure: dict, **overrides) -> dict:
    base = {"kind": "open", "underlying": "SPY", "units": 1, "execution": {"type": "market"}, "structure": structure}
    return {**base, **overrides}


def catalogue(name: str, strikes: list, expiries: list | None = None) -> dict:
    return {"type": "catalogue", "strategy": name, "strikes": strikes, "expiries": expiries or [EXPIRY]}


def legs(*items: tuple) -> dict:
    return {"type": "legs", "legs": [{"kind": k, "strike": s, "expiry": e, "quantity": q} for k, s, e, q in items]}


def errors_of(data: dict, context: dict | None = None) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as caught:
        ORDER_INTENT.validate_python(data, context=context)
    return [(error["loc"], error["msg"]) for error in caught.value.errors()]


def only_error(data: dict, context: dict | None = None) -> tuple[tuple, str]:
    found = errors_of(data, context)
    assert len(found) == 1, found
    return found[0]


def test_catalogue_intent_builds_the_catalogue_legs_under_its_canonical_name():
    intent = ORDER_INTENT.validate_python(open_intent(catalogue("BullCallSpread", [440, 445]), units=3))
    assert isinstance(intent, OpenIntent)
    assert intent.structure.strategy == "bull_call_spread"
    assert intent.unit_legs() == [
        Leg("call", 440.0, dt.date(2024, 6, 21), 1),
        Leg("call", 445.0, dt.date(2024, 6, 21), -1),
    ]


def test_selling_a_structure_is_buying_its_short_version():
    sold = ORDER_INTENT.validate_python(open_intent(catalogue("call_butterfly", [460, 450, 440]), side="sell"))
    bought = ORDER_INTENT.validate_python(open_intent(catalogue("short_butterfly_call", [460, 450, 440])))
    assert sold.unit_legs() == bought.unit_legs()
    assert [leg.quantity for leg in sold.unit_legs()] == [-1, 2, -1]


@pytest.mark.parametrize(
    ("structure", "field", "words"),
    [
        (catalogue("bull_call_spread", [445, 440]), "strikes", "leg1_strike (445) must be < leg2_strike (440)"),
        (catalogue("bull_call_spread", [440]), "strikes", "takes 2 strikes"),
        (catalogue("call_calendar_spread", [450], ["2024-06-21", "2024-06-14"]), "expiries", "must be <"),
        (catalogue("call_calendar_spread", [450], [EXPIRY]), "expiries", "takes 2 expiries"),
        (catalogue("call_butterfly", [460, 450, 445]), "strikes", "must equal"),
    ],
)
def test_a_broken_catalogue_rule_is_an_error_on_the_field_it_concerns(structure, field, words):
    loc, message = only_error(open_intent(structure))
    assert loc == ("open", "structure", "catalogue", field)
    assert words in message


def test_an_unknown_strategy_is_an_error_on_strategy_naming_close_matches():
    loc, message = only_error(open_intent(catalogue("bull_cal_spread", [440, 445])))
    assert loc == ("open", "structure", "catalogue", "strategy")
    assert "bull_call_spread" in message


@pytest.mark.parametrize(("expiry", "index"), [("2024-02-30", 0), ("21/06/2024", 0)])
def test_expiries_must_be_real_dates(expiry, index):
    loc, _ = only_error(open_intent(catalogue("naked_put", [440], [expiry])))
    assert loc == ("open", "structure", "catalogue", "expiries", index)


@pytest.mark.parametrize("strike", [0, -5, float("inf"), float("nan"), "abc"])
def test_strikes_must_be_positive_finite_numbers(strike):
    loc, _ = only_error(open_intent(catalogue("naked_put", [strike])))
    assert loc == ("open", "structure", "catalogue", "strikes", 0)


@pytest.mark.parametrize("units", [0, -1, 101, 1.5])
def test_units_are_whole_positive_and_bounded_by_default(units):
    loc, _ = only_error(open_intent(catalogue("naked_put", [440]), units=units))
    assert loc == ("open", "units")


def test_the_units_bound_comes_from_the_context_or_the_environment(monkeypatch):
    data = open_intent(catalogue("naked_put", [440]), units=250)
    assert ORDER_INTENT.validate_python(data, context={"max_units": 500}).units == 250
    assert ORDER_INTENT.validate_python(data, context=STORED_CONTEXT).units == 250
    monkeypatch.setenv(intents.MAX_UNITS_ENV, "300")
    intents.default_max_units.cache_clear()
    try:
        assert ORDER_INTENT.validate_python(data).units == 250
        monkeypatch.setenv(intents.MAX_UNITS_ENV, "lots")
        intents.default_max_units.cache_clear()
        with pytest.raises(ValueError, match="HYBRID_MAX_UNITS must be a positive integer"):
            intents.default_max_units()
    finally:
        monkeypatch.delenv(intents.MAX_UNITS_ENV)
        intents.default_max_units.cache_clear()
    assert only_error(data)[1].endswith("units must be at most 100 (the configured maximum)")


@pytest.mark.parametrize(
    ("execution", "loc"),
    [
        ({"type": "limit"}, ("open", "execution", "limit", "price")),
        ({"type": "limit", "price": float("nan")}, ("open", "execution", "limit", "price")),
        ({"type": "limit", "price": 1e9}, ("open", "execution", "limit", "price")),
        ({"type": "two_part", "first_fraction": 1.0}, ("open", "execution", "two_part", "first_fraction")),
        ({"type": "two_part", "mode": "fast"}, ("open", "execution", "two_part", "mode")),
        ({"type": "iceberg"}, ("open", "execution")),
    ],
)
def test_execution_is_explicit_and_bounded(execution, loc):
    assert only_error(open_intent(catalogue("naked_put", [440]), execution=execution))[0] == loc


def test_limit_prices_may_be_credits_and_two_part_parameters_are_optional():
    credit = ORDER_INTENT.validate_python(
        open_intent(catalogue("naked_put", [440]), execution={"type": "limit", "price": -1.35})
    )
    assert credit.execution.price == -1.35
    two_part = ORDER_INTENT.validate_python(open_intent(catalogue("naked_put", [440]), execution={"type": "two_part"}))
    assert two_part.execution.first_fraction is None


def test_custom_legs_are_the_leg_json_contract():
    intent = ORDER_INTENT.validate_python(
        open_intent(legs(("call", 450, EXPIRY, -1), ("underlying", None, None, 100)), side="sell")
    )
    assert intent.unit_legs() == [Leg("call", 450.0, dt.date(2024, 6, 21), 1), Leg("underlying", None, None, -100)]


@pytest.mark.parametrize(
    ("structure", "loc", "words"),
    [
        (legs(("underlying", None, None, 100)), ("legs",), "1 to 4 option legs, got 0"),
        (legs(*[("call", 400 + i, EXPIRY, 1) for i in range(5)]), ("legs",), "1 to 4 option legs, got 5"),
        (legs(("call", 450, EXPIRY, 1), ("put", 450, EXPIRY, 1), ("call", 450, EXPIRY, 2)), ("legs", 2), "twice"),
        (legs(("call", 450, EXPIRY, 2), ("put", 440, EXPIRY, -2)), ("legs",), "factor 2"),
        (legs(("call", 450, EXPIRY, 11), ("put", 440, EXPIRY, 1)), ("legs", 0, "quantity"), "+/-10"),
        (legs(("call", 450, EXPIRY, 0)), ("legs", 0), "non-zero"),
        (legs(("call", None, EXPIRY, 1)), ("legs", 0), "positive strike"),
        (legs(("call", float("inf"), EXPIRY, 1)), ("legs", 0, "strike"), "finite number"),
        (legs(("future", 450, EXPIRY, 1)), ("legs", 0, "kind"), "'call', 'put' or 'underlying'"),
        (
            legs(("underlying", None, None, 100), ("underlying", None, None, -100), ("call", 1, EXPIRY, 1)),
            ("legs",),
            "one underlying",
        ),
    ],
)
def test_bad_custom_legs_name_the_leg_and_the_rule(structure, loc, words):
    found_loc, message = only_error(open_intent(structure))
    assert found_loc == ("open", "structure", "legs", *loc)
    assert words in message


def test_leg_prices_are_refused_in_favour_of_the_execution_price():
    structure = legs(("call", 450, EXPIRY, 1))
    structure["legs"][0]["price"] = 2.5
    loc, message = only_error(open_intent(structure))
    assert loc == ("open", "structure", "legs", "legs", 0, "price")
    assert "execution" in message


def iron_condor_rules(long_put_anchor: str = "short_put_strike") -> dict:
    return {
        "type": "rules",
        "strategy": "iron_condor",
        "strikes": [
            {"by": "width", "from_strike": long_put_anchor, "points": -5},
            {"by": "delta", "delta": 0.16},
            {"by": "atm_offset", "steps": 10},
            {"by": "width", "from_strike": "short_call_strike", "points": 5},
        ],
        "expiries": [{"min_dte": 30, "max_dte": 45}],
    }


def test_rule_structures_name_one_rule_per_parameter():
    intent = ORDER_INTENT.validate_python(open_intent(iron_condor_rules()))
    assert intent.structure.strikes[0].from_strike == "short_put_strike"
    with pytest.raises(ValueError, match="resolved against a chain"):
        intent.unit_legs()


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        (lambda s: s.update(strikes=s["strikes"][:3]), ("strikes",)),
        (lambda s: s.update(expiries=[]), ("expiries",)),
        (lambda s: s["expiries"][0].update(min_dte=50), ("expiries", 0, "max_dte")),
        (lambda s: s["strikes"][1].update(delta=1.2), ("strikes", 1, "delta", "delta")),
        (lambda s: s["strikes"][0].update(from_strike="long_call_strike"), ("strikes", 0, "from_strike")),
        (lambda s: s["strikes"][0].update(points=0), ("strikes", 0, "width", "points")),
    ],
)
def test_bad_strike_rules_are_field_errors(change, loc):
    structure = iron_condor_rules()
    change(structure)
    assert only_error(open_intent(structure))[0] == ("open", "structure", "rules", *loc)


def test_close_and_roll_act_on_a_group():
    close = ORDER_INTENT.validate_python({"kind": "close", "group_id": "G-1", "execution": {"type": "market"}})
    assert isinstance(close, CloseGroupIntent) and close.units is None
    roll = ORDER_INTENT.validate_python(
        {"kind": "roll", "group_id": "G-1", "execution": {"type": "two_part"}, "dte": [{"min_dte": 30, "max_dte": 60}]}
    )
    assert isinstance(roll, RollGroupIntent) and roll.recentre == "same_strikes"


@pytest.mark.parametrize(
    ("data", "loc"),
    [
        ({"kind": "roll"}, ("roll", "expiries")),
        ({"kind": "roll", "expiries": [EXPIRY], "dte": [{"min_dte": 1, "max_dte": 2}]}, ("roll", "expiries")),
        ({"kind": "roll", "execution": {"type": "limit", "price": 1}, "expiries": [EXPIRY]}, ("roll", "execution")),
        ({"kind": "close", "group_id": "G 1"}, ("close", "group_id")),
        ({"kind": "close", "units": 0}, ("close", "units")),
        ({"kind": "transfer"}, ()),
    ],
)
def test_bad_group_actions_are_field_errors(data, loc):
    data = {"group_id": "G", "execution": {"type": "market"}, **data}
    assert only_error(data)[0] == loc


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"priority": 10}, ("open", "priority")),
        ({"idempotency_key": "x" * 129}, ("open", "idempotency_key")),
        ({"idempotency_key": "has space"}, ("open", "idempotency_key")),
        ({"source": "robot"}, ("open", "source")),
        ({"underlying": "spy"}, ("open", "underlying")),
        ({"unit": 2}, ("open", "unit")),
        ({"client_metadata": {f"k{i}": i for i in range(17)}}, ("open", "client_metadata")),
        ({"client_metadata": {"note": "x" * 300}}, ("open", "client_metadata", "note")),
        ({"client_metadata": {"k" * 65: 1}}, ("open", "client_metadata")),
    ],
)
def test_common_fields_are_bounded(overrides, loc):
    found = errors_of(open_intent(catalogue("naked_put", [440]), **overrides))
    assert loc in [found_loc for found_loc, _ in found], found


def test_an_intent_survives_a_json_round_trip():
    intent = ORDER_INTENT.validate_python(
        open_intent(
            iron_condor_rules(),
            units=7,
            priority=1,
            idempotency_key="abc:1",
            source="recurring",
            client_metadata={"template": "weekly-ic", "n": 3},
            execution={"type": "two_part", "mode": "legging", "limit_price": -1.1},
        )
    )
    assert ORDER_INTENT.validate_json(ORDER_INTENT.dump_json(intent)) == intent


def spy_chain() -> OptionChain:
    """SPY calls and puts at 440, 445 and 450 for one expiry, as the engine's cache would list them."""
    contracts = [
        make_option("SPY", dt.date(2024, 6, 21), right, strike) for right in "CP" for strike in (440, 445, 450)
    ]
    return OptionChain("SPY", contracts)


def test_chain_misses_become_errors_on_the_fields_that_were_typed():
    validator = chain_validator({"SPY": spy_chain()}.get)
    spread = ORDER_INTENT.validate_python(open_intent(catalogue("bull_call_spread", [445, 447.5])))
    (error,) = chain_errors(spread, validator)
    assert error["loc"] == ("open", "structure", "catalogue", "strikes", 1)
    assert error["input"] == 447.5 and error["type"] == "not_listed"
    assert "strike 447.5 is not listed for calls expiring 2024-06-21; nearest listed: 445, 450" in error["msg"]

    covered = legs(("put", 440, "2024-06-28", -1), ("underlying", None, None, 100))
    (error,) = chain_errors(ORDER_INTENT.validate_python(open_intent(covered)), validator)
    assert error["loc"] == ("open", "structure", "legs", "legs", 0, "expiry")
    assert "expiry 2024-06-28 is not listed; nearest listed: 2024-06-21" in error["msg"]

    elsewhere = ORDER_INTENT.validate_python(open_intent(catalogue("naked_put", [440]), underlying="QQQ"))
    assert [(e["loc"], e["msg"]) for e in chain_errors(elsewhere, validator)] == [
        (("open", "underlying"), "no option chain is loaded for QQQ")
    ]
    listed = ORDER_INTENT.validate_python(open_intent(catalogue("iron_butterfly", [440, 445, 450]), side="sell"))
    assert chain_errors(listed, validator) == []


def test_a_listed_contract_the_engine_would_not_trade_is_an_error_on_its_strike_with_the_engines_reason():
    unquoted = {"SPY   240621C00450000"}
    validator = chain_validator(
        {"SPY": spy_chain()}.get,
        lambda contract: "it has no quote yet" if contract.id.symbol.value in unquoted else None,
    )
    spread = ORDER_INTENT.validate_python(open_intent(catalogue("bull_call_spread", [445, 450])))
    (error,) = chain_errors(spread, validator)
    assert error["loc"] == ("open", "structure", "catalogue", "strikes", 1)
    assert (error["input"], error["type"], error["msg"]) == (
        450,
        "not_tradeable",
        "the engine does not trade it has no quote yet",
    )
    custom = ORDER_INTENT.validate_python(open_intent(legs(("call", 450, EXPIRY, 1))))
    (error,) = chain_errors(custom, validator)
    assert error["loc"] == ("open", "structure", "legs", "legs", 0, "strike") and error["type"] == "not_tradeable"
    assert chain_errors(ORDER_INTENT.validate_python(open_intent(legs(("put", 450, EXPIRY, 1)))), validator) == []


def test_intents_without_contracts_yet_are_left_to_the_engine():
    def must_not_be_called(underlying, unit_legs):
        raise AssertionError("no contracts to check")

    rules = ORDER_INTENT.validate_python(open_intent(iron_condor_rules()))
    close = ORDER_INTENT.validate_python({"kind": "close", "group_id": "G", "execution": {"type": "market"}})
    assert chain_errors(rules, must_not_be_called) == chain_errors(close, must_not_be_called) == []


def test_as_a_fastapi_body_bad_input_is_a_422_naming_the_field_and_the_schema_is_documented():
    app = FastAPI()

    @app.post("/orders")
    async def submit(intent: Annotated[intents.OrderIntent, Body()]) -> dict:
        return {"kind": intent.kind}

    with TestClient(app) as client:
        bad = client.post("/orders", json=open_intent(catalogue("bull_call_spread", [445, 440])))
        assert bad.status_code == 422
        (error,) = bad.json()["detail"]
        assert error["loc"] == ["body", "open", "structure", "catalogue", "strikes"]
        assert "leg1_strike (445) must be < leg2_strike (440)" in error["msg"]
        assert client.post("/orders", json=open_intent(catalogue("bull_call_spread", [440, 445]))).json() == {
            "kind": "open"
        }
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"OpenIntent", "CloseGroupIntent", "RollGroupIntent", "CatalogueStructure", "Leg"} <= set(schemas)
    assert schemas["OpenIntent"]["properties"]["source"]["enum"] == ["autonomous", "manual", "recurring"]


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(sorted(STRATEGIES)),
    strikes=st.lists(st.floats(min_value=0.01, max_value=2000, allow_nan=False), min_size=1, max_size=5),
    expiries=st.lists(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)), min_size=1, max_size=3),
    side=st.sampled_from(["buy", "sell"]),
)
def test_any_catalogue_input_is_accepted_with_the_catalogues_legs_or_refused_with_field_errors(
    name, strikes, expiries, side
):
    data = open_intent(catalogue(name, strikes, [e.isoformat() for e in expiries]), side=side)
    try:
        intent = ORDER_INTENT.validate_python(data)
    except ValidationError as exc:
        for error in exc.errors():
            assert error["loc"][:3] == ("open", "structure", "catalogue")
            assert error["loc"][3] in ("strikes", "expiries")
        return
    sign = 1 if side == "buy" else -1
    expected = [Leg(leg.kind, leg.strike, leg.expiry, sign * leg.quantity) for leg in build(name, strikes, expiries)]
    assert intent.unit_legs() == expected

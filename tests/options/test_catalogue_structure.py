"""The catalogue's building blocks: leg templates, rules, definitions, and the listing/doc outputs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hybrid.options.catalogue import STRATEGIES, About, LegTemplate, Rule, listing, markdown_table
from hybrid.options.catalogue.structure import define, format_number, parse_iso_date

ABOUT = About("Test", "vertical", "debit", "bullish", "neutral", "A test structure.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C(k)+1", LegTemplate("call", 1, "k", "exp")),
        ("P(k)@far-2", LegTemplate("put", -2, "k", "far")),
        ("U-M", LegTemplate("underlying", -1, None, None)),
    ],
)
def test_leg_template_parses(text: str, expected: LegTemplate) -> None:
    assert LegTemplate.parse(text, "exp") == expected


@pytest.mark.parametrize("text", ["C(k)", "X(k)+1", "U(k)+M", "C(k)+M", "U+1", "C+1"])
def test_leg_template_rejects_malformed_text(text: str) -> None:
    with pytest.raises(ValueError, match="leg template"):
        LegTemplate.parse(text, "exp")


def test_rule_is_normalised_and_renamed() -> None:
    rule = Rule("a-b==2*(c -  d)")
    assert rule.text == "a - b == 2 * (c - d)"
    assert rule.names == {"a", "b", "c", "d"}
    assert rule.renamed({"a": "x"}).text == "x - b == 2 * (c - d)"


def test_rule_reports_the_first_broken_link_of_a_chain() -> None:
    rule = Rule("a < b <= c < d")
    values = {k: Decimal(v) for k, v in {"a": 1, "b": 3, "c": 2, "d": 4}.items()}
    assert rule.broken(values) == "b (3) must be <= c (2)"
    assert rule.broken({**values, "c": Decimal(3)}) is None
    assert Rule("x != y").broken({"x": dt.date(2024, 1, 2), "y": dt.date(2024, 1, 2)}) == (
        "x (2024-01-02) must differ from y (2024-01-02)"
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a ** 2 < b", "only names, integers"),
        ("a < b and b < c", "must be a comparison"),
        ("a", "must be a comparison"),
        ("a < 1.5", "only names, integers"),
        ("a <", "does not parse"),
        ("a in b", "must be a comparison"),
    ],
)
def test_rule_rejects_what_it_cannot_evaluate(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        Rule(text)


@pytest.mark.parametrize(
    ("strikes", "legs", "rules", "expiries", "error"),
    [
        ("a b", "C(a)+1", [], "expiration", "legs use"),
        ("a", "C(a)+1 C(b)-1", [], "expiration", "legs use"),
        ("a", "C(a)+2 P(a)-2", [], "expiration", "greatest common divisor"),
        ("a", "C(a)+1", ["a < z"], "expiration", "names unknown parameters"),
        ("a a", "C(a)+1", [], "expiration", "parameter names repeat"),
        ("a", "C(a)+1 C(a)@far-1", [], "near far", "needs @expiry"),
    ],
)
def test_definitions_are_checked_when_written(
    strikes: str, legs: str, rules: list[str], expiries: str, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        define("broken", strikes, legs, rules, ABOUT, expiries=expiries)


def test_about_rejects_unknown_bias() -> None:
    with pytest.raises(ValueError, match="direction 'sideways' is not one of bullish, bearish, neutral"):
        About("Test", "vertical", "debit", "sideways", "neutral", "x")


def test_negation_renames_parameters_in_place() -> None:
    base = define("base", "lo hi", "C(lo)+1 C(hi)-1", ["lo < hi"], ABOUT)
    short = base.negated("short_base", ABOUT, {"lo": "first", "hi": "second"})
    assert short.parameters == ("first", "second", "expiration")
    assert [leg.quantity for leg in short.legs] == [-1, 1]
    assert [rule.text for rule in short.rules] == ["first < second"]
    assert short.negation_of == "base"


def test_listing_carries_ui_metadata_and_aliases() -> None:
    items = {item["name"]: item for item in listing()}
    assert list(items) == list(STRATEGIES)
    fly = items["call_butterfly"]
    assert fly["aliases"] == ["butterfly_call"]
    assert fly["parameters"] == ["higher_strike", "middle_strike", "lower_strike", "expiration"]
    assert (fly["n_strikes"], fly["n_expiries"], fly["category"], fly["net"]) == (3, 1, "butterfly", "debit")
    assert fly["legs"] == ["C(higher_strike)+1", "C(middle_strike)-2", "C(lower_strike)+1"]
    assert items["call_calendar_spread"]["legs"] == ["C(strike)@near_expiration-1", "C(strike)@far_expiration+1"]
    for item in items.values():
        assert item["display_name"] and item["description"] and item["category"]
        assert item["direction"] in ("bullish", "bearish", "neutral")
        assert item["volatility"] in ("long", "short", "neutral")


def test_markdown_table_documents_every_structure() -> None:
    lines = markdown_table().splitlines()
    assert lines[0].startswith("| name | parameters | legs, in order | validation |")
    assert len(lines) == 2 + len(STRATEGIES)
    row = next(line for line in lines if line.startswith("| bear_call_spread "))
    assert row.startswith(
        "| bear_call_spread = -bull_call_spread | leg1_strike, leg2_strike, expiration | "
        "C(leg1_strike)-1; C(leg2_strike)+1 | leg1_strike < leg2_strike |"
    )


def test_helpers() -> None:
    assert [format_number(x) for x in (450.0, 447.5, Decimal("1E+2"), 0.1)] == ["450", "447.5", "100", "0.1"]
    assert parse_iso_date(" 2024-02-29 ") == dt.date(2024, 2, 29)
    for bad in ("2023-02-29", "2024-6-1", "2024-W01-1", None):
        with pytest.raises(ValueError):
            parse_iso_date(bad)

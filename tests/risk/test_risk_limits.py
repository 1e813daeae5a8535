"""Pre-trade limits and the structure-aware margin rules."""

from __future__ import annotations

import datetime as dt

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from hybrid.options import catalogue
from hybrid.risk import (
    BookState,
    EntryRisk,
    MarginRates,
    RiskLimitsConfig,
    check_entry,
    check_limits,
    entry_requirement,
)
from hybrid.risk.margin import OptionPosition, allocate, book_requirement, intrinsic_floor, naked_requirement

EXPIRY = dt.date(2024, 2, 16)
RATES = MarginRates()
BOOK = BookState(open_groups=1, delta=50.0, vega=-300.0, free_balance=100_000.0)
ENTRY = EntryRisk(delta=-20.0, vega=-400.0, max_loss=350.0, requirement=350.0)


def test_entry_within_every_limit_passes() -> None:
    assert check_entry(RiskLimitsConfig(), BOOK, ENTRY) is None


@pytest.mark.parametrize(
    ("limits", "entry", "starts"),
    [
        (RiskLimitsConfig(max_open_groups=1), ENTRY, "max_open_groups: 1 open, limit 1"),
        (RiskLimitsConfig(max_loss_per_group=300), ENTRY, "max_loss_per_group: 350.00 > limit 300.00"),
        (RiskLimitsConfig(), EntryRisk(0, 0, None, 0), "max_loss_per_group: the loss is unbounded"),
        (RiskLimitsConfig(max_abs_delta=60), EntryRisk(20, 0, 1, 1), "max_abs_delta: portfolio delta would be 70.0"),
        (RiskLimitsConfig(max_abs_vega=650), ENTRY, "max_abs_vega: portfolio vega would be -700.0"),
        (RiskLimitsConfig(), EntryRisk(0, 0, 1, 60_000), "buying power: needs 60000.00, 50% of free balance"),
    ],
)
def test_each_limit_refuses_with_a_one_line_reason(limits: RiskLimitsConfig, entry: EntryRisk, starts: str) -> None:
    reason = check_entry(limits, BOOK, entry)
    assert reason is not None and reason.startswith(starts) and "\n" not in reason


def test_switched_off_limits_allow_anything_but_buying_power() -> None:
    off = RiskLimitsConfig(max_open_groups=None, max_abs_delta=None, max_abs_vega=None, max_loss_per_group=None)
    assert check_entry(off, BookState(99, 1e9, 1e9, 1e9), EntryRisk(1e9, 1e9, None, 1.0)) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("max_abs_delta", 0), ("max_open_groups", 0), ("buying_power_fraction", 1.5), ("max_loss_per_group", -1)],
)
def test_bad_limits_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=f"risk.{field}"):
        check_limits(RiskLimitsConfig(**{field: value}))


def test_iron_condor_uses_its_maximum_loss() -> None:
    legs = catalogue.build("iron_condor", [420, 425, 475, 480], [EXPIRY])
    # credit 1.50 per share: the width of 5 is held, the credit is already cash, so 500 - 150
    assert entry_requirement(legs, 2, 450.0, -150.0, RATES, 100) == pytest.approx(700.0)


def test_debit_butterfly_uses_only_its_debit() -> None:
    legs = catalogue.build("call_butterfly", [455, 450, 445], [EXPIRY])
    assert entry_requirement(legs, 3, 450.0, 120.0, RATES, 100) == pytest.approx(360.0)


def test_naked_short_put_is_reg_t() -> None:
    put = OptionPosition(None, False, 440.0, -2.0, premium=3.0)
    # max(20% x 450 - 10 OTM, 10% x 440) + 3 = 83 per share
    assert naked_requirement(put, 450.0, RATES, 100) == pytest.approx(83.0 * 2 * 100)
    assert intrinsic_floor([put], 100) == pytest.approx(-2 * 440 * 100)  # bounded, but Reg-T asks less
    assert book_requirement([put], 450.0, RATES, 100) == pytest.approx(83.0 * 2 * 100)


def test_naked_short_call_is_unbounded_and_margined_reg_t() -> None:
    call = OptionPosition(None, True, 460.0, -1.0, premium=2.0)
    assert intrinsic_floor([call], 100) is None
    # max(20% x 450 - 10 OTM, 10% x 450) + 2 = 82 per share
    assert book_requirement([call], 450.0, RATES, 100) == pytest.approx(8200.0)


def test_long_options_hold_nothing_beyond_their_premium() -> None:
    assert (
        book_requirement(
            [OptionPosition(None, True, 450.0, 3.0), OptionPosition(None, False, 440.0, 1.0)], 450.0, RATES, 100
        )
        == 0.0
    )


def test_allocation_sums_to_the_book_requirement_and_spares_long_legs() -> None:
    ids = [InstrumentId.from_str(f"SPY   240216{s}.OPRA") for s in ("P00420000", "P00425000", "C00475000", "C00480000")]
    book = [
        OptionPosition(ids[0], False, 420.0, 2.0),
        OptionPosition(ids[1], False, 425.0, -2.0),
        OptionPosition(ids[2], True, 475.0, -2.0),
        OptionPosition(ids[3], True, 480.0, 2.0),
    ]
    shares = allocate(book, 450.0, RATES, 100)
    assert sum(shares.values()) == pytest.approx(book_requirement(book, 450.0, RATES, 100)) == pytest.approx(1000.0)
    assert shares[ids[0]] == shares[ids[3]] == 0.0

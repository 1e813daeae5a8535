"""``python -m hybrid strategies``: the CLI contract, in process through ``main`` and end to end."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from hybrid.cli import main
from hybrid.options.catalogue import STRATEGIES

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test

ROOT = Path(__file__).resolve().parents[2]
BCS = ["strategies", "build", "bull_call_spread", "--strikes", "100,110", "--expiries", "2024-07-19"]
NO_LEGS = 'expected a non-empty list of legs, or {"legs": [...]} as built by `strategies build`'
ANALYSIS_KEYS = {"net_premium", "max_profit", "max_loss", "breakevens", "probability_of_profit", "greeks", "payoff"}


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def priced_legs(tmp_path: Path, prices: list[float], name: str = "legs.json", **extra: object) -> str:
    legs = [
        {"kind": "call", "strike": 100, "expiry": "2024-07-19", "quantity": 1},
        {"kind": "call", "strike": 110, "expiry": "2024-07-19", "quantity": -1},
    ]
    for leg, price in zip(legs, prices):
        leg["price"] = price
    path = tmp_path / name
    path.write_text(json.dumps({"strategy": "bull_call_spread", "legs": legs, **extra}))
    return str(path)


def test_build_json_is_the_leg_contract(capsys: pytest.CaptureFixture) -> None:
    code, out, err = run(capsys, *BCS, "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "strategy": "bull_call_spread",
        "legs": [
            {"kind": "call", "strike": 100.0, "expiry": "2024-07-19", "quantity": 1},
            {"kind": "call", "strike": 110.0, "expiry": "2024-07-19", "quantity": -1},
        ],
    }


def test_build_json_with_an_underlying_leg_and_multiplier(capsys: pytest.CaptureFixture) -> None:
    argv = ["strategies", "build", "protective_collar", "--strikes", "110,95", "--expiries", "2024-07-19"]
    code, out, _ = run(capsys, *argv, "--multiplier", "10", "--json")
    assert code == 0
    assert json.loads(out)["legs"][-1] == {"kind": "underlying", "strike": None, "expiry": None, "quantity": 10}


def test_build_resolves_aliases_to_the_canonical_name(capsys: pytest.CaptureFixture) -> None:
    argv = ["strategies", "build", "butterfly_call", "--strikes", "110,105,100", "--expiries", "2024-07-19", "--json"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    built = json.loads(out)
    assert built["strategy"] == "call_butterfly"
    assert [leg["quantity"] for leg in built["legs"]] == [1, -2, 1]


def test_build_table_for_people(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, *BCS, "--underlying", "spy")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("bull_call_spread: Bull Call Spread (vertical, debit")
    assert lines[1].split() == ["#", "KIND", "STRIKE", "EXPIRY", "QUANTITY", "SYMBOL"]
    assert lines[2].split() == ["1", "call", "100", "2024-07-19", "+1", "SPY", "240719C00100000"]
    assert lines[3].split() == ["2", "call", "110", "2024-07-19", "-1", "SPY", "240719C00110000"]


def test_list_json_describes_every_strategy(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "strategies", "list", "--json")
    assert code == 0
    items = json.loads(out)
    assert [item["name"] for item in items] == list(STRATEGIES)
    condor = next(item for item in items if item["name"] == "iron_condor")
    assert condor["parameters"] == [
        "long_put_strike",
        "short_put_strike",
        "short_call_strike",
        "long_call_strike",
        "expiration",
    ]
    assert {"aliases", "category", "description", "display_name", "net", "direction", "volatility"} <= set(condor)


def test_list_table_and_markdown(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = run(capsys, "strategies", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["NAME", "STRIKES", "EXPIRIES"]
    assert len(lines) == 1 + len(STRATEGIES)
    assert any(line.startswith("call_butterfly ") and "(alias butterfly_call)" in line for line in lines)
    code, out, _ = run(capsys, "strategies", "list", "--markdown")
    assert code == 0 and out.startswith("| name | parameters |")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["strategies", "build", "bull_call_spread", "--strikes", "110,100", "--expiries", "2024-07-19"],
            "error: bull_call_spread: leg1_strike (110) must be < leg2_strike (100)",
        ),
        (
            ["strategies", "build", "bull_call_spread", "--strikes", "100", "--expiries", "2024-07-19"],
            "error: bull_call_spread: takes 2 strikes (leg1_strike, leg2_strike), got 1",
        ),
        (
            ["strategies", "build", "bull_call_spread", "--strikes", "100,x", "--expiries", "2024-07-19"],
            "error: bull_call_spread: leg2_strike must be a positive number, got 'x'",
        ),
        (
            ["strategies", "build", "bull_call_spread", "--strikes", "100,110", "--expiries", "2024-02-30"],
            "error: bull_call_spread: expiration must be a real date YYYY-MM-DD, got '2024-02-30'",
        ),
        (
            ["strategies", "build", "call_calendar_spread", "--strikes", "100", "--expiries", "2024-07-19"],
            "error: call_calendar_spread: takes 2 expiries (near_expiration, far_expiration), got 1",
        ),
        (
            ["strategies", "build", "iron_condr", "--strikes", "1", "--expiries", "2024-07-19"],
            "error: unknown strategy 'iron_condr'; close matches: iron_condor",
        ),
        (
            ["strategies", "build", "bull_call_spread", "--expiries", "2024-07-19"],
            "error: the following arguments are required: --strikes (see python -m hybrid strategies build --help)",
        ),
        ([*BCS, "--multiplier", "0"], "error: argument --multiplier: must be a positive integer, got '0'"),
        ([*BCS, "--underlying", "TOOLONGROOT"], "error: argument --underlying: must be an OCC root of 1-6"),
        (["strategies", "bild"], "error: argument COMMAND: invalid choice: 'bild'"),
        (["nonsense"], "error: argument GROUP: invalid choice: 'nonsense'"),
        ([], "error: the following arguments are required: GROUP"),
        (
            ["strategies", "list", "--json", "--markdown"],
            "error: argument --markdown: not allowed with argument --json",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(message), err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "error: --legs: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)",
        ),
        ("[]", f"error: --legs: {NO_LEGS}"),
        ('{"strategy": "x"}', f"error: --legs: {NO_LEGS}"),
        ("[3]", "error: legs[0]: expected an object with kind, strike, expiry, quantity, price, iv, got 3"),
        (
            '[{"kind": "cal", "strike": 1, "expiry": "2024-07-19", "quantity": 1, "price": 1}]',
            'error: legs[0].kind: must be one of call, put, underlying, got "cal"',
        ),
        (
            '[{"kind": "call", "strike": 1, "expiry": "2024-07-19", "quantity": 1}]',
            'error: legs[0]: missing "price" (the premium per share, a number)',
        ),
        (
            '[{"kind": "call", "strike": 1, "expiry": "2024-07-19", "quantity": 1, "price": "1"}]',
            'error: legs[0].price: must be a number >= 0 (premium per share), got "1"',
        ),
        (
            '[{"kind": "call", "strike": 1, "expiry": "2024-07-19", "quantity": 1, "price": -1}]',
            "error: legs[0].price: must be a number >= 0 (premium per share), got -1",
        ),
        (
            '[{"kind": "call", "strike": 0, "expiry": "2024-07-19", "quantity": 1, "price": 1}]',
            "error: legs[0].strike: must be a positive number, got 0",
        ),
        (
            '[{"kind": "put", "strike": 1, "expiry": "2024-13-01", "quantity": 1, "price": 1}]',
            'error: legs[0].expiry: must be a real date YYYY-MM-DD, got "2024-13-01"',
        ),
        (
            '[{"kind": "put", "strike": 1, "expiry": "2024-07-19", "quantity": 1.5, "price": 1}]',
            "error: legs[0].quantity: must be a non-zero integer, got 1.5",
        ),
        (
            '[{"kind": "put", "strike": 1, "expiry": "2024-07-19", "quantity": 0, "price": 1}]',
            "error: legs[0].quantity: must be a non-zero integer, got 0",
        ),
        (
            '[{"kind": "put", "strike": 1, "expiry": "2024-07-19", "qty": 1, "price": 1}]',
            "error: legs[0]: unknown field 'qty' (fields: kind, strike, expiry, quantity, price, iv)",
        ),
        (
            '[{"kind": "underlying", "strike": 100, "expiry": null, "quantity": 100, "price": 100}]',
            "error: legs[0]: an underlying leg has no strike and no expiry (use null)",
        ),
        (
            '[{"kind": "put", "strike": 1, "expiry": "2024-07-19", "quantity": 1, "price": 1, "iv": 0}]',
            "error: legs[0].iv: must be a positive volatility, got 0",
        ),
        (
            '[{"kind": "put", "strike": 1, "expiry": "2024-07-19", "quantity": 1, "price": NaN}]',
            "error: legs[0].price: must be a number >= 0 (premium per share), got NaN",
        ),
    ],
)
def test_bad_legs_file_exits_2_with_one_line(
    capsys: pytest.CaptureFixture, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "legs.json"
    path.write_text(content)
    code, out, err = run(capsys, "strategies", "analyze", "--legs", str(path), "--spot", "100", "--vol", "0.2")
    assert (code, out) == (2, "")
    assert err == message + "\n"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--spot", "-1", "--vol", "0.2"], "error: argument --spot: must be a positive number, got '-1'"),
        (["--spot", "100", "--vol", "abc"], "error: argument --vol: must be a positive number, got 'abc'"),
        (["--spot", "100", "--vol", "0.2", "--rate", "inf"], "error: argument --rate: must be a finite number"),
        (["--spot", "100", "--vol", "0.2", "--as-of", "19/07/2024"], "error: argument --as-of: must be a real date"),
    ],
)
def test_bad_market_arguments_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path, extra: list, message: str) -> None:
    code, _, err = run(capsys, "strategies", "analyze", "--legs", priced_legs(tmp_path, [5, 2]), *extra)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(message), err


def test_missing_legs_file(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    code, _, err = run(capsys, "strategies", "analyze", "--legs", missing, "--spot", "1", "--vol", "1")
    assert code == 2
    assert err == f"error: --legs: cannot read '{missing}': No such file or directory\n"


def test_analyze_passes_legs_and_market_to_the_analytics(
    capsys: pytest.CaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring: what the CLI hands ``analyze`` and how its result and its ValueErrors come out."""
    calls = []

    class Result:
        def to_dict(self) -> dict:
            return {"net_premium": 1.0}

    def fake_analyze(legs, **market):
        calls.append((legs, market))
        if market["spot"] == 13:
            raise ValueError("spot 13 is unlucky")
        return Result()

    monkeypatch.setitem(sys.modules, "hybrid.options.analytics", types.SimpleNamespace(analyze=fake_analyze))
    legs_file = priced_legs(tmp_path, [5, 2])
    argv = ["strategies", "analyze", "--legs", legs_file, "--vol", "0.25", "--rate", "0.04", "--dividend", "0.01"]
    code, out, _ = run(capsys, *argv, "--spot", "101", "--as-of", "2024-06-19", "--multiplier", "10", "--json")
    assert (code, json.loads(out)) == (0, {"net_premium": 1.0})
    legs, market = calls[0]
    assert [(leg.kind, leg.strike, leg.quantity, leg.price) for leg in legs] == [
        ("call", 100.0, 1, 5.0),
        ("call", 110.0, -1, 2.0),
    ]
    assert market == {
        "spot": 101.0,
        "vol": 0.25,
        "rate": 0.04,
        "dividend": 0.01,
        "as_of": dt.date(2024, 6, 19),
        "multiplier": 10,
    }
    code, _, err = run(capsys, *argv, "--spot", "13")
    assert (code, err) == (2, "error: spot 13 is unlucky\n")


def test_analyze_bull_call_spread(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    argv = ["strategies", "analyze", "--legs", priced_legs(tmp_path, [5, 2]), "--spot", "100", "--vol", "0.2"]
    code, out, err = run(capsys, *argv, "--as-of", "2024-06-19", "--json")
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert set(result) == ANALYSIS_KEYS
    assert result["net_premium"] == pytest.approx(300)  # a debit of (5 - 2) x 100
    assert result["max_profit"] == pytest.approx(700)
    assert result["max_loss"] == pytest.approx(-300)
    assert result["breakevens"] == pytest.approx([103])
    assert 0 < result["probability_of_profit"] < 1

    code, out, _ = run(capsys, *argv, "--as-of", "2024-06-19")
    assert code == 0
    assert "max profit" in out and "700.00" in out and "103.00" in out


def test_analyze_reads_a_bare_list_from_stdin(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    naked = [{"kind": "call", "strike": 100, "expiry": "2024-07-19", "quantity": -1, "price": 3}]
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(naked)))
    code, out, _ = run(
        capsys,
        "strategies",
        "analyze",
        "--legs",
        "-",
        "--spot",
        "100",
        "--vol",
        "0.2",
        "--as-of",
        "2024-06-19",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert result["net_premium"] == pytest.approx(-300)  # a credit
    assert result["max_profit"] == pytest.approx(300)
    assert result["max_loss"] is None  # unbounded


def _python_m_hybrid(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hybrid", *argv], input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_end_to_end_build_then_analyze() -> None:
    built = _python_m_hybrid(
        "strategies", "build", "iron_condor", "--strikes", "90,95,105,110", "--expiries", "2024-07-19", "--json"
    )
    assert (built.returncode, built.stderr) == (0, "")
    legs = json.loads(built.stdout)
    assert legs["strategy"] == "iron_condor"
    assert [leg["quantity"] for leg in legs["legs"]] == [1, -1, -1, 1]
    for leg, price in zip(legs["legs"], [0.5, 1.5, 1.5, 0.5]):
        leg["price"] = price
    analysed = _python_m_hybrid(
        "strategies",
        "analyze",
        "--legs",
        "-",
        "--spot",
        "100",
        "--vol",
        "0.2",
        "--as-of",
        "2024-06-19",
        "--json",
        stdin=json.dumps(legs),
    )
    assert (analysed.returncode, analysed.stderr) == (0, "")
    result = json.loads(analysed.stdout)
    assert result["net_premium"] == pytest.approx(-200)
    assert result["max_profit"] == pytest.approx(200)
    assert result["max_loss"] == pytest.approx(-300)
    assert result["breakevens"] == pytest.approx([93, 107])


def test_end_to_end_bad_input_is_one_line_and_exit_2() -> None:
    done = _python_m_hybrid(*BCS[:3], "--strikes", "110,100", "--expiries", "2024-07-19")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "error: bull_call_spread: leg1_strike (110) must be < leg2_strike (100)\n"

"""Bad sweep input: one ``error:`` line naming the key or address, exit 2, and nothing written (no Ray starts)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hybrid.cli import main

CONFIG = Path(__file__).resolve().parents[1] / "support" / "backtest_small.toml"


def sweep(capsys: pytest.CaptureFixture[str], out: Path, space: str, *extra: str) -> tuple[int, str]:
    space_path = out.parent / "space.toml"
    space_path.write_text(space)
    code = main(["sweep", "--config", str(CONFIG), "--space", str(space_path), "--out", str(out), *extra])
    return code, capsys.readouterr().err


def assert_one_line(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("space", "fragments"),
    [
        (
            '[params]\n"strategies.0.config.no_such_key" = [1, 2]\n',
            ["strategies.0.config.no_such_key", "unknown key 'no_such_key'"],
        ),
        (
            '[params]\n"venue.fee_per_contractt" = [1.0]\n',
            ["venue.fee_per_contractt", "unknown key 'venue.fee_per_contractt'"],
        ),
        (
            '[params]\n"strategies.3.config.quantity" = [1]\n',
            ["'strategies.3.config.quantity'", "strategies is a list of 1"],
        ),
        ("[params]\n", ["the space is empty"]),
        (
            '[params]\n"strategies.0.config.quantity" = [1, "five"]\n',
            ["strategies.0.config.quantity = 'five'", "key 'quantity'"],
        ),
        (
            '[params]\n"fill_model.prob_fill_on_touch" = { low = 0.5, high = 1.5, step = 0.5 }\n',
            ["fill_model.prob_fill_on_touch = 1.5", "probability in [0, 1]"],
        ),
    ],
)
def test_bad_space_is_one_line_naming_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_catalog: Path, space: str, fragments: list[str]
) -> None:
    out = tmp_path / "out"
    code, err = sweep(capsys, out, space, "--catalog", str(small_catalog))
    assert_one_line(code, err, *fragments)
    assert not out.exists()


def test_an_unreachable_ray_address_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_catalog: Path
) -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    out = tmp_path / "out"
    space = '[params]\n"strategies.0.config.quantity" = [1, 2]\n'
    code, err = sweep(capsys, out, space, "--catalog", str(small_catalog), "--address", address)
    assert_one_line(code, err, f"Ray address {address!r} is unreachable")
    assert not out.exists()


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--walk-forward", "40d:20d"], "--walk-forward 40d:20d: the catalog covers 2024-01-02..2024-01-05"),
        (["--walk-forward", "forty"], "must look like TRAINd:TESTd"),
        (["--heatmap", "a,b"], "heatmap axis 'a' is not a key of the space"),
        (["--constraint", "drawdown<3"], "constraint 'drawdown<3' must look like STAT<=NUMBER"),
        (["--catalog", "no/such/catalog"], "catalog"),
    ],
)
def test_bad_options_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_catalog: Path, extra: list[str], fragment: str
) -> None:
    out = tmp_path / "out"
    args = ["--catalog", str(small_catalog), *extra] if "--catalog" not in extra else extra
    code, err = sweep(capsys, out, '[params]\n"strategies.0.config.quantity" = [1, 2]\n', *args)
    assert_one_line(code, err, fragment)
    assert not out.exists()

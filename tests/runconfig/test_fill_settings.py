"""The ``[fill_model]`` table: the touch keys and the ``[fill_model.improvement]`` hazard, with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.runconfig import ConfigError, load_settings
from hybrid.runconfig.settings import FillSettings, ImprovementSettings


def settings_of(tmp_path: Path, fill_model: str) -> FillSettings:
    path = tmp_path / "run.toml"
    path.write_text(f'catalog = "nowhere"\n{fill_model}')
    return load_settings(path).fill_model


def test_without_an_improvement_table_limits_inside_the_natural_never_fill(tmp_path: Path) -> None:
    fill = settings_of(tmp_path, "[fill_model]\nprob_fill_on_touch = 0.5\n")
    assert fill == FillSettings(prob_fill_on_touch=0.5, improvement=ImprovementSettings(rate_per_minute=0.0))


def test_the_improvement_table_is_read(tmp_path: Path) -> None:
    fill = settings_of(tmp_path, "[fill_model.improvement]\nrate_per_minute = 0.1\nexponent = 3\napplies_to = 'all'\n")
    assert fill.improvement == ImprovementSettings(rate_per_minute=0.1, exponent=3.0, applies_to="all")
    assert isinstance(fill.improvement.exponent, float)


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ("rate_per_minute = -0.1\n", ["'fill_model.improvement.rate_per_minute'", ">= 0", "-0.1"]),
        ("rate_per_minute = inf\n", ["'fill_model.improvement.rate_per_minute'", "inf"]),
        ("exponent = 0\n", ["'fill_model.improvement.exponent'", "> 0"]),
        ("applies_to = 'legs'\n", ["'fill_model.improvement.applies_to'", "spreads, all", "'legs'"]),
        ("rate_per_minute = '0.1'\n", ["'fill_model.improvement.rate_per_minute' must be a number >= 0", "str"]),
        ("rate = 0.1\n", ["unknown key 'fill_model.improvement.rate'", "rate_per_minute, exponent, applies_to"]),
    ],
)
def test_bad_improvement_values_name_the_field(tmp_path: Path, table: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        settings_of(tmp_path, f"[fill_model.improvement]\n{table}")
    message = str(error.value)
    assert "\n" not in message and "run.toml" in message
    for fragment in fragments:
        assert fragment in message, message


def test_improvement_must_be_a_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'fill_model\.improvement' must be a table"):
        settings_of(tmp_path, "[fill_model]\nimprovement = 0.1\n")

"""The ``[backtest]`` table: ``chunk_size`` decides between streaming the catalog and loading it in one shot."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybrid.backtest.runner import DEFAULT_CHUNK_SIZE, STREAMING_THRESHOLD_QUOTES, streaming_chunk_size
from hybrid.runconfig import ConfigError, load_settings
from hybrid.runconfig.settings import RunSettings


def settings_of(tmp_path: Path, table: str) -> RunSettings:
    path = tmp_path / "run.toml"
    path.write_text(f'catalog = "nowhere"\n{table}')
    return load_settings(path)


def test_without_a_chunk_size_large_catalogs_stream_and_small_ones_load_in_one_shot(tmp_path: Path) -> None:
    settings = settings_of(tmp_path, "")
    assert settings.chunk_size is None
    assert streaming_chunk_size(settings, STREAMING_THRESHOLD_QUOTES) is None
    assert streaming_chunk_size(settings, STREAMING_THRESHOLD_QUOTES + 1) == DEFAULT_CHUNK_SIZE


def test_a_chunk_size_streams_whatever_the_size_and_zero_loads_in_one_shot(tmp_path: Path) -> None:
    assert streaming_chunk_size(settings_of(tmp_path, "[backtest]\nchunk_size = 1000\n"), 10) == 1000
    assert streaming_chunk_size(settings_of(tmp_path, "[backtest]\nchunk_size = 0\n"), 10**9) is None


@pytest.mark.parametrize(
    ("table", "fragments"),
    [
        ("chunk_size = -1\n", ["'backtest.chunk_size'", ">= 0", "-1"]),
        ("chunk_size = '1000'\n", ["'backtest.chunk_size' must be a number of rows", "str"]),
        ("chunk = 1000\n", ["unknown key 'backtest.chunk'", "chunk_size"]),
    ],
)
def test_a_bad_chunk_size_is_one_line_naming_the_key(tmp_path: Path, table: str, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as error:
        settings_of(tmp_path, f"[backtest]\n{table}")
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message

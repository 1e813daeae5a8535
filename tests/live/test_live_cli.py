"""``run_live.py`` refusing to start: no IB gateway listening, bad options, a busy port. One line, non-zero exit."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hybrid.live.cli import main, parser, tls_options
from tests.support.live import TOKENS, WAIT, run_live, write_config

pytestmark = pytest.mark.slow  # a backtest, a server or a subprocess per test


@pytest.fixture(scope="module")
def config(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("live-cli"), small_catalog)


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRID_API_TOKENS", TOKENS)


def refuse(args: list[str], tmp_path: Path, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    """Exit code and stderr lines of a ``run_live.py`` that must not start."""
    env = {"HYBRID_DB": str(tmp_path / "state.sqlite"), "HYBRID_API_TOKENS": TOKENS, **(env or {})}
    process = run_live(args, env, tmp_path / "run")
    code = process.wait(WAIT)
    return code, (tmp_path / "run" / "stderr.log").read_text().splitlines()


def test_ib_mode_without_a_gateway_exits_with_one_clear_line(config: Path, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    code, lines = refuse(
        ["--mode", "ib", "--config", str(config), "--port", "0"],
        tmp_path,
        {"IB_HOST": "127.0.0.1", "IB_PORT": str(port)},
    )
    assert code == 3
    assert len(lines) == 1 and f"IB Gateway/TWS is not reachable at 127.0.0.1:{port}" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--speed", "0"], "argument --speed: must be a positive number, got '0'"),
        (["--mode", "live"], "argument --mode: invalid choice: 'live'"),
        (["--config", "no-such.toml"], "cannot read config file no-such.toml"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    config: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "--port", "0", *args]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_a_busy_port_is_refused_before_anything_starts(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        assert main(["--config", str(config), "--port", str(busy.getsockname()[1])]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "cannot listen on 127.0.0.1" in lines[0]


def test_no_api_tokens_is_refused_unless_insecure_local(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HYBRID_API_TOKENS", raising=False)
    monkeypatch.delenv("HYBRID_API_TOKENS_FILE", raising=False)
    assert main(["--config", str(config), "--port", "0"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "no API tokens configured: set HYBRID_API_TOKENS" in lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0 is reachable from other machines: add --allow-remote"),
        (["--ssl-certfile", "cert.pem"], "--ssl-certfile and --ssl-keyfile go together"),
        (["--ssl-certfile", "no-cert.pem", "--ssl-keyfile", "no-key.pem"], "--ssl-certfile: no such file no-cert.pem"),
    ],
)
def test_a_remote_host_needs_allow_remote_and_tls_needs_both_files(
    config: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config), "--port", "0", *args]) == 2  # refused before anything is bound
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and message in lines[0]


def test_allow_remote_without_tls_is_a_warning_and_with_tls_gives_uvicorn_both_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = parser().parse_args(["--host", "0.0.0.0", "--allow-remote"])  # parsed only: nothing is bound
    assert tls_options(remote) == {}
    assert "warning: serving the API on 0.0.0.0 over plain HTTP" in capsys.readouterr().err
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("certificate")
    key.write_text("key")
    secure = parser().parse_args(
        ["--host", "0.0.0.0", "--allow-remote", "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    )
    assert tls_options(secure) == {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    assert capsys.readouterr().err == ""

"""API tokens: roles, constant-time look-up, fail-closed start-up, and the FastAPI dependencies."""

from __future__ import annotations

import hmac
import json
import logging

import pytest
from fastapi import Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hybrid.api import auth
from hybrid.api.auth import (
    AuthConfigError,
    Principal,
    TokenRegistry,
    generate_token,
    install_auth,
    load_tokens_file,
    parse_tokens_env,
    require_role,
    require_ws_role,
    ws_subprotocol,
)

VIEWER, TRADER, ADMIN = (generate_token() for _ in range(3))
TOKENS_ENV = f"vera:viewer:{VIEWER}, tom:trader:{TRADER},ada:admin:{ADMIN}"


def registry() -> TokenRegistry:
    return TokenRegistry(parse_tokens_env(TOKENS_ENV))


def make_app(tokens: TokenRegistry, **options) -> FastAPI:
    app = FastAPI()
    install_auth(app, tokens, host=options.pop("host", "127.0.0.1"), **options)

    @app.get("/read")
    async def read(who: Principal = Depends(require_role("viewer"))) -> dict:
        return {"name": who.name, "role": who.role}

    @app.post("/orders")
    async def submit(who: Principal = Depends(require_role("trader"))) -> dict:
        return {"name": who.name}

    @app.put("/risk")
    async def risk(who: Principal = Depends(require_role("admin"))) -> dict:
        return {"name": who.name}

    @app.websocket("/ws")
    async def stream(websocket: WebSocket, who: Principal = Depends(require_ws_role("viewer"))) -> None:
        await websocket.accept(subprotocol=ws_subprotocol(websocket))
        await websocket.send_json({"name": who.name})
        await websocket.close()

    return app


@pytest.fixture(autouse=True)
def every_refusal_logged(monkeypatch):
    """Refusals are logged once per interval per process; these tests look at each one."""
    monkeypatch.setattr(auth.REFUSALS, "interval", 0.0)


@pytest.fixture
def client():
    with TestClient(make_app(registry())) as client:
        yield client


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_roles_include_the_ones_below():
    assert Principal("a", "admin").allows("trader") and Principal("a", "admin").allows("viewer")
    assert Principal("t", "trader").allows("viewer") and not Principal("t", "trader").allows("admin")
    assert not Principal("v", "viewer").allows("trader")


def test_tokens_from_the_environment_and_files_agree(tmp_path):
    toml = tmp_path / "tokens.toml"
    toml.write_text(f'[[tokens]]\nname = "tom"\nrole = "trader"\ntoken = "{TRADER}"\n')
    toml.chmod(0o600)
    as_json = tmp_path / "tokens.json"
    as_json.write_text(json.dumps({"tokens": [{"name": "tom", "role": "trader", "token": TRADER}]}))
    as_json.chmod(0o600)
    assert load_tokens_file(toml) == load_tokens_file(as_json) == parse_tokens_env(f"tom:trader:{TRADER}")


def test_from_env_merges_both_sources(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": [{"name": "ops", "role": "admin", "token": ADMIN}]}))
    path.chmod(0o600)
    tokens = TokenRegistry.from_env({auth.TOKENS_ENV: f"tom:trader:{TRADER}", auth.TOKENS_FILE_ENV: str(path)})
    assert len(tokens) == 2
    assert tokens.authenticate(ADMIN) == Principal("ops", "admin")
    assert len(TokenRegistry.from_env({})) == 0


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("tom:trader", "entry 1 must be name:role:token"),
        (f"tom:trader:{TRADER}, bob:root:{VIEWER}", "entry 2: role: Input should be 'viewer', 'trader' or 'admin'"),
        ("tom:trader:tooshort", "entry 1: token: String should have at least 32 characters"),
        (f"tom:trader:{TRADER[:-1]}!", "entry 1: token: String should match pattern"),
        (f"t m:trader:{TRADER}", "entry 1: name"),
    ],
)
def test_bad_environment_entries_name_the_entry_and_field_but_never_the_token(value, words):
    with pytest.raises(AuthConfigError) as caught:
        parse_tokens_env(value)
    assert words in str(caught.value)
    for secret in (TRADER, VIEWER, "tooshort", TRADER[:-1]):
        assert secret not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("tokens.yaml", "tokens: []", "must end in .toml or .json"),
        ("tokens.toml", "[[tokens]\n", "is not valid toml"),
        ("tokens.json", '{"tokens": []}', "tokens: List should have at least 1 item"),
        (
            "tokens.json",
            json.dumps({"tokens": [{"name": "x", "role": "trader", "token": "short-secret"}]}),
            "tokens.0.token",
        ),
    ],
)
def test_bad_token_files_are_clear_errors(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(AuthConfigError, match=words) as caught:
        load_tokens_file(path)
    assert "short-secret" not in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(AuthConfigError, match=r"cannot read .*nope\.toml"):
        load_tokens_file(tmp_path / "nope.toml")


def test_a_file_others_can_read_is_loaded_with_a_warning(tmp_path, caplog):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"tokens": [{"name": "tom", "role": "trader", "token": TRADER}]}))
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger=auth.__name__):
        assert len(load_tokens_file(path)) == 1
    assert "chmod 600" in caplog.text and TRADER not in caplog.text


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        (f"tom:trader:{TRADER},tom:viewer:{VIEWER}", "name 'tom' is configured twice"),
        (f"tom:trader:{TRADER},bob:viewer:{TRADER}", "token 'bob' reuses another name's token"),
    ],
)
def test_names_and_tokens_are_unique(entries, words):
    with pytest.raises(AuthConfigError, match=words):
        TokenRegistry(parse_tokens_env(entries))


def test_lookup_compares_against_every_token_without_an_early_exit(monkeypatch):
    tokens = registry()
    calls = []
    real = hmac.compare_digest

    def counting(a, b):
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", counting)
    for presented, expected in [(VIEWER, "vera"), (ADMIN, "ada"), ("not-a-token", None)]:
        calls.clear()
        found = tokens.authenticate(presented)
        assert (found.name if found else None) == expected
        assert len(calls) == 3


def test_an_app_without_tokens_refuses_to_start_unless_explicitly_insecure_on_loopback():
    empty = TokenRegistry([])
    with pytest.raises(AuthConfigError, match="no API tokens configured: set HYBRID_API_TOKENS"):
        install_auth(FastAPI(), empty, host="127.0.0.1")
    with pytest.raises(AuthConfigError, match="loopback"):
        install_auth(FastAPI(), empty, host="0.0.0.0", insecure_local=True)
    with TestClient(make_app(empty, insecure_local=True, host="::1")) as client:
        assert client.put("/risk").json() == {"name": auth.INSECURE_PRINCIPAL}


def test_insecure_local_changes_nothing_when_tokens_are_configured():
    with TestClient(make_app(registry(), insecure_local=True)) as client:
        assert client.get("/read").status_code == 401


def test_requests_get_their_principal(client):
    assert client.get("/read", headers=bearer(VIEWER)).json() == {"name": "vera", "role": "viewer"}
    assert client.post("/orders", headers=bearer(TRADER)).json() == {"name": "tom"}
    assert client.put("/risk", headers=bearer(ADMIN)).json() == {"name": "ada"}
    assert client.post("/orders", headers=bearer(ADMIN)).json() == {"name": "ada"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "no bearer token"),
        ({"Authorization": f"Basic {TRADER}"}, "no bearer token"),
        (bearer(TRADER + "x"), "unknown token"),
    ],
)
def test_missing_or_unknown_tokens_are_401_and_never_logged(client, caplog, headers, message):
    with caplog.at_level(logging.INFO):
        response = client.post("/orders", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"]["error"] == "unauthorized"
    assert response.json()["detail"]["message"].startswith(message)
    assert TRADER not in caplog.text and "POST /orders" in caplog.text


@pytest.mark.parametrize(("token", "path", "method"), [(VIEWER, "/orders", "post"), (TRADER, "/risk", "put")])
def test_a_role_below_the_route_is_403(client, token, path, method):
    response = getattr(client, method)(path, headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["detail"]["error"] == "forbidden"
    assert "has role" in response.json()["detail"]["message"]


def test_the_openapi_document_declares_bearer_auth(client):
    schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert [scheme["scheme"].lower() for scheme in schemes.values()] == ["bearer"]


def test_an_unknown_role_is_a_programming_error():
    with pytest.raises(ValueError, match="role must be one of viewer, trader, admin"):
        require_role("root")


def test_websockets_take_a_header_or_the_bearer_subprotocol(client):
    with client.websocket_connect("/ws", headers=bearer(VIEWER)) as ws:
        assert ws.receive_json() == {"name": "vera"}
    with client.websocket_connect("/ws", subprotocols=["bearer", TRADER]) as ws:
        assert ws.accepted_subprotocol == "bearer"
        assert ws.receive_json() == {"name": "tom"}


@pytest.mark.parametrize(
    ("url", "options"),
    [("/ws", {}), ("/ws", {"subprotocols": ["bearer", VIEWER + "x"]}), (f"/ws?token={VIEWER}", {})],
)
def test_websockets_without_a_known_token_are_accepted_then_closed_with_policy_violation(client, url, options):
    with pytest.raises(WebSocketDisconnect) as caught, client.websocket_connect(url, **options) as ws:
        ws.receive_json()
    assert caught.value.code == 1008
    assert "token" in caught.value.reason


def test_generated_tokens_are_strong_and_the_helper_prints_a_usable_entry(capsys):
    assert generate_token() != generate_token() and len(generate_token()) >= 43
    assert auth.main(["tom", "trader"]) == 0
    entry = capsys.readouterr().out.strip()
    (token,) = parse_tokens_env(entry)
    assert (token.name, token.role) == ("tom", "trader")
    assert auth.main(["tom", "root"]) == 2
    assert auth.main(["t m", "viewer"]) == 2
    assert "NAME: name" in capsys.readouterr().err

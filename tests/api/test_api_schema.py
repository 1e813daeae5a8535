"""Schema-driven: requests generated from the app's own OpenAPI document, valid and invalid, never get a 500;
and the document's examples are valid, each against its field and together as a request.

Schemathesis generates cases per operation (positive and negative modes) and calls the ASGI app in
process (no socket) as the admin, so every operation is reached past auth. Examples are bounded and
derandomised, so the run is repeatable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from unittest import mock

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from schemathesis.checks import not_a_server_error

from hybrid.api.app import create_app
from tests.support.api import ADMIN, auth, make_app, make_context, registry

EXAMPLES = 15  # per operation and generation mode
CHECKS = list(HealthCheck)  # generated cases are filtered by schemathesis itself


@pytest.fixture(scope="module")
def api_app(small_catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return make_app(make_context(small_catalog, tmp_path_factory.mktemp("api-schema") / "state.sqlite"))


@pytest.mark.slow  # schemathesis sends a few hundred generated requests
def test_no_generated_request_gets_a_server_error(api_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api_app, headers=auth(ADMIN))
    schema.config.generation.update(with_security_parameters=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            _check(operation, mode, failures)
    assert not failures, "\n\n".join(failures)


def _check(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode, failures: list[str]) -> None:
    """Run the generated cases of one operation in one mode; a failure is recorded in ``failures``."""

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=CHECKS)
    def check(case: schemathesis.Case) -> None:
        response = case.call(headers=auth(ADMIN))
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except AssertionError as exc:
            failures.append(f"{operation.label} ({mode}): {str(exc).splitlines()[0]}\n{case.as_curl_command()}")
            raise

    try:
        check()
    except AssertionError:
        pass  # recorded above, with the smallest example hypothesis found
    except Unsatisfiable:
        assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label  # no parameter to get wrong


def _models(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _models(sub)


def _field_examples() -> Iterator[tuple[str, FieldInfo, object]]:
    """(where, field, example) of every example of our models' fields."""
    for model in {model for model in _models(BaseModel) if model.__module__.startswith("hybrid.")}:
        for name, info in model.model_fields.items():
            for example in info.examples or []:
                yield f"{model.__name__}.{name}", info, example


def _example_request(document: dict, path: str, operation: dict) -> tuple[str, dict[str, Any] | None] | None:
    """The URL and body an operation's own examples make, or None when a required value has no example."""
    query = []
    for param in operation.get("parameters", []):
        examples = param["schema"].get("examples")
        if not examples:
            if param.get("required"):
                return None
        elif param["in"] == "path":
            path = path.replace(f"{{{param['name']}}}", str(examples[0]))
        elif param["in"] == "query":
            query.append(f"{param['name']}={examples[0]}")
    path = f"{path}?{'&'.join(query)}" if query else path
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return path, None
    ref = content["schema"].get("$ref", "")
    schema = document["components"]["schemas"].get(ref.rpartition("/")[2], {})
    properties = schema.get("properties", {})
    body = {name: field["examples"][0] for name, field in properties.items() if field.get("examples")}
    if not properties or set(schema.get("required", [])) - set(body):
        return None
    return path, body


def test_every_example_is_valid_against_its_model_and_a_request_of_examples_passes_validation() -> None:
    for where, info, example in _field_examples():
        try:
            TypeAdapter(Annotated[info.annotation, info]).validate_python(example)
        except ValidationError as exc:
            raise AssertionError(f"{where}: example {example!r} is invalid: {exc}") from None
    client = TestClient(create_app(mock.MagicMock(), tokens=registry()), raise_server_exceptions=False)
    document = client.get("/openapi.json", headers=auth(ADMIN)).json()  # no lifespan: the context is never reached
    made = [
        (method, request)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if (request := _example_request(document, path, operation)) is not None
    ]
    assert any(body for _, (_, body) in made)  # the strategy build at least
    for method, (path, body) in made:
        response = client.request(method, path, json=body, headers=auth(ADMIN))
        assert response.status_code != 422, f"{method.upper()} {path} with its examples: {response.text}"

"""Schema-driven: requests generated from the app's own OpenAPI document, valid and invalid, never get a 500.

Schemathesis generates cases per operation (positive and negative modes) and calls the ASGI app in
process (no socket) as the admin, so every operation is reached past auth. Examples are bounded and
derandomised, so the run is repeatable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error

from tests.support.api import ADMIN, auth, make_app, make_context

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

"""Property-based run of the whole API (issue 11 §3): schemathesis generates requests from
``/schema/openapi.json`` against a real server process, with a token of each role, and asserts that
no answer is a 5xx and that answers match the document. Bounded: a few examples per operation."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.e2e.conftest import ServerProcess

#: Examples per operation and role; the whole run stays within a few minutes on 2 cores.
EXAMPLES = 15
ROLES = ("wijkuitvoerder", "kcc", "manager", "admin")


@pytest.fixture
def tokens(server: ServerProcess) -> dict[str, str]:
    return {role: server.add_user(f"st-{role}", role)[0] for role in ROLES}


def test_no_5xx_and_answers_match_the_schema(server: ServerProcess, tokens: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/schema/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for role, token in tokens.items():
            try:
                _run(operation, token)
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} as {role}: {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)


def _run(operation, token: str) -> None:
    """``EXAMPLES`` generated requests of one operation with one token, each checked."""

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}", "X-Wijkteam-Protocol": "1"}
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    run()

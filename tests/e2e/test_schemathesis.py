"""Property-based run of the whole API (issue 11 §3): schemathesis generates requests from
``/schema/openapi.json`` against a real server process, with a token of each role, valid requests and
requests with one thing wrong, and asserts that no answer is a 5xx and that every answer matches the
document: a documented status code, a documented content type, a body of the documented shape.

The server holds some data first (meldingen from Open311, the sample gazetteer, a laptop snapshot), so
the answers are about something. Bounded: a few examples per operation, role and mode."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.protocol import PROTOCOL_VERSION
from tests.e2e.conftest import ROOT, ServerProcess

#: Examples per operation, role and generation mode; the whole run stays within a minute or two on 2 cores.
EXAMPLES = 10
ROLES = ("wijkuitvoerder", "kcc", "manager", "admin")
#: No 5xx; every status, content type and body as the document says.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schemathesis.serializer("application/msgpack")
def _msgpack(_ctx, value) -> bytes:
    """Sync bodies are also sent as MessagePack, as laptops do; a value MessagePack cannot hold (an
    integer beyond 64 bits) cannot be sent that way, so that example is dropped."""
    try:
        return msgspec.msgpack.encode(value)
    except OverflowError:
        reject()


@dataclass
class Caller:
    role: str
    token: str
    device_code: str | None


@pytest.fixture
def callers(server: ServerProcess) -> list[Caller]:
    made = [Caller(role, *server.add_user(f"st-{role}", role)) for role in ROLES]
    _seed(server, made[0].token)
    return made


def _seed(server: ServerProcess, laptop_token: str) -> None:
    """Meldingen through Open311, the sample gazetteer and a laptop snapshot."""
    for i, (lat, lon) in enumerate([(52.5, 6.26), (52.51, 6.27), (52.49, 6.25)]):
        r = httpx.post(
            server.url + "/open311/v2/requests.json",
            data={
                "api_key": laptop_token,
                "service_code": "groen/boom",
                "lat": lat,
                "long": lon,
                "description": f"Boom {i}",
            },
            timeout=30,
        )
        assert r.status_code == 201, r.text
    out = server.cli("gazetteer", "import", str(ROOT / "shared/data/sample_gazetteer.csv"), "--sample")
    assert out.returncode == 0, out.stderr
    out = server.cli("snapshot", "build")
    assert out.returncode == 0, out.stderr


def test_no_5xx_and_answers_match_the_schema(server: ServerProcess, callers: list[Caller]) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/schema/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for caller in callers:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _run(operation, caller, mode)
                except Unsatisfiable:
                    continue  # nothing to get wrong (no parameters, no body)
                except Exception as exc:  # collect every operation's failure, then report them all
                    failures.append(f"{operation.label} as {caller.role} ({mode.value}): {str(exc)[:800]}")
    assert not failures, "\n\n".join(failures)


def _run(operation, caller: Caller, mode: GenerationMode) -> None:
    """``EXAMPLES`` generated requests of one operation with one token, each checked."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        case.headers = {
            **(case.headers or {}),
            "Authorization": f"Bearer {caller.token}",
            "X-Wijkteam-Protocol": str(PROTOCOL_VERSION),
        }
        if (
            mode is GenerationMode.POSITIVE
            and caller.device_code
            and isinstance(case.body, dict)
            and "device_id" in case.body
        ):
            # A laptop speaks for its own device in the current protocol, so its events reach the store.
            case.body = {**case.body, "device_id": caller.device_code, "protocol": PROTOCOL_VERSION}
        case.call_and_validate(checks=CHECKS)

    run()

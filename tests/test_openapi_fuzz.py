"""Property-based run of every documented operation against a live server (schemathesis).

The server is a child process (``tidings serve``): schemathesis calls it synchronously, which
would block an in-process server sharing the test's event loop. It runs signed in as a user who
has a friend, a DM, a group with a message and an incoming friend request, so that small ids
point at real rows.

Every check schemathesis ships runs (what ``st run --checks all`` runs): no 5xx; every status,
content type, header and body as documented; schema-valid input accepted and schema-invalid
input refused; undeclared methods answered 405 with an ``Allow`` naming every documented method;
missing required headers refused; and, over sequences of calls (the stateful phase, following
the links schemathesis infers), a created resource can be read and a deleted one cannot. Three
run but find nothing to act on: ``ignored_auth`` needs a security scheme in the schema (the
session cookie is not declared there), ``object_level_authorization`` several identities (a Web
Fuzzing Commons auth file with peers), and ``missing_required_header`` a required header.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import Flaky
from schemathesis.checks import CHECKS, CheckContext, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup

from tests.support.api import PASSWORD
from tests.support.server import ServerProcess
from tests.support.settings import GENEROUS_LIMITS, make_settings, reset_postgres
from tidings.app import create_app
from tidings.config import Settings

REFUSES_SCHEMA_VALID_INPUT = {
    "POST /api/conversations": "yourself as the DM partner, or a group of only yourself",
    "POST /api/friends/request": "a friend request to yourself",
    "POST /api/conversations/{conversation_id}/messages": "no text and no attachment, a reply "
    "to another conversation's message, an attachment that is not yours",
    "GET /api/conversations/{conversation_id}/messages": "more than one of before/after/around",
    "PUT /api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}": "text "
    "that is not exactly one emoji",
    "DELETE /api/conversations/{conversation_id}/messages/{message_id}/reactions/{emoji}": "text "
    "that is not exactly one emoji",
    "PUT /api/conversations/{conversation_id}/mute": "an end of the mute that is past or more "
    "than a year ahead",
    "PUT /api/bots/{bot_id}/webhook": "a URL with no valid host, or a private address (unless "
    "the server allows them)",
}
"""Operations whose schema-valid input can still be refused with 422 (each with its own ``code``):
what the schema cannot say, since it depends on who asks. ``positive_data_acceptance`` expects
no 422 for schema-valid input, and schemathesis' own answer (``st explain ST202``) is to allow it
for such an operation; ``validation_does_not_refuse_schema_valid_input`` below keeps checking
that the validator and the schema agree there."""
POSITIVE_DATA_ACCEPTANCE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""schemathesis' default for ``positive_data_acceptance``."""
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {"enabled": True},  # every check, as `st run --checks all`
        "operations": [
            {
                "include-name": name,
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [*POSITIVE_DATA_ACCEPTANCE_STATUSES, "422"]
                    }
                },
            }
            for name in REFUSES_SCHEMA_VALID_INPUT
        ],
    }
)
COOKIE = "tidings_session"


def _register(client: httpx.Client, username: str) -> str:
    response = client.post("/api/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return str(response.cookies[COOKIE])


@pytest.fixture(scope="module")
async def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    tmp_path = tmp_path_factory.mktemp("fuzz")
    config = make_settings(tmp_path)
    if config.database_url.startswith("postgresql"):
        await reset_postgres(config.database_url)
    env = {
        "DATABASE_URL": config.database_url,
        "REDIS_PREFIX": config.redis_prefix,
        "ARGON2_TIME_COST": str(config.argon2_time_cost),
        "ARGON2_MEMORY_COST_KIB": str(config.argon2_memory_cost_kib),
        "ARGON2_PARALLELISM": str(config.argon2_parallelism),
        "LOG_LEVEL": "warning",
        **{key.upper(): str(value) for key, value in GENEROUS_LIMITS.items()},
    }
    if config.redis_url:
        env["REDIS_URL"] = config.redis_url
    server = ServerProcess(env, log=tmp_path / "server.log")
    await server.start()
    yield server
    server.terminate()
    await server.wait()


@pytest.fixture(scope="module")
def session_cookie(fuzz_server: ServerProcess) -> Iterator[str]:
    """The fuzzing user's session, with a friend, a DM, a group and some history."""
    with (
        httpx.Client(base_url=fuzz_server.url) as me,
        httpx.Client(base_url=fuzz_server.url) as friend,
        httpx.Client(base_url=fuzz_server.url) as stranger,
    ):
        token = _register(me, "fuzzer")
        _register(friend, "friend")
        _register(stranger, "stranger")
        request = me.post("/api/friends/request", json={"username": "friend"}).json()
        friend.post(f"/api/friends/requests/{request['request']['id']}/accept")
        stranger.post("/api/friends/request", json={"username": "fuzzer"})
        friend_id = friend.get("/api/auth/me").json()["user"]["id"]
        dm = me.post("/api/conversations", json={"type": "direct", "user_id": friend_id}).json()
        group = me.post(
            "/api/conversations", json={"type": "group", "name": "g", "member_ids": [friend_id]}
        ).json()
        for conversation in (dm, group):
            friend.post(f"/api/conversations/{conversation['id']}/messages", json={"content": "hi"})
        yield token


# The schema is built from the app itself, at collection time (schemathesis needs it then);
# test_the_live_schema_is_the_one_fuzzed checks the live server serves the very same document.
OPENAPI = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()
# The event stream never ends: its contract has tests of its own (tests/realtime/).
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG).exclude(path="/api/events")
SESSION_ENDING = {"/api/auth/logout", "/api/auth/logout-everywhere"}
"""Operations that would end the shared session: each call gets a session of its own."""
INPUT_NOT_UNDERSTOOD = {"validation_error", "invalid_json"}
"""The codes of a 422 for input that does not match the schema (as against a refusal of input
that does, which names its own rule, e.g. ``self_conversation``)."""


def validation_does_not_refuse_schema_valid_input(
    ctx: CheckContext, response: Any, case: Any
) -> bool | None:
    """Schema-valid input is never refused as invalid: the schema says all that validation does
    (patterns, lengths, what whitespace counts for), so what one accepts the other does."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code == 422:
        code = response.json().get("code")
        assert code not in INPUT_NOT_UNDERSTOOD, f"schema-valid input refused: {response.text}"
    return None


EXTRA_CHECKS = [validation_does_not_refuse_schema_valid_input]
SCENARIOS = 60
"""Stateful scenarios per run, of up to 6 calls each."""


def _session_for(case: Any, server_url: str, shared: str) -> str:
    if case.path not in SESSION_ENDING:
        return shared
    with httpx.Client(base_url=server_url) as client:
        return _register(client, f"u{uuid.uuid4().hex[:12]}")


ROUTES = {
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/password"),
    ("GET", "/api/users"),
    ("POST", "/api/friends/request"),
    ("GET", "/api/friends/requests"),
    ("POST", "/api/friends/requests/{request_id}/accept"),
    ("POST", "/api/friends/requests/{request_id}/decline"),
    ("POST", "/api/friends/requests/{request_id}/cancel"),
    ("GET", "/api/friends"),
    ("DELETE", "/api/friends/{user_id}"),
    ("POST", "/api/conversations"),
    ("GET", "/api/conversations"),
    ("GET", "/api/conversations/{conversation_id}"),
    ("POST", "/api/conversations/{conversation_id}/members"),
    ("DELETE", "/api/conversations/{conversation_id}/members/{user_id}"),
    ("GET", "/api/conversations/{conversation_id}/messages"),
    ("POST", "/api/conversations/{conversation_id}/messages"),
    ("POST", "/api/conversations/{conversation_id}/read"),
    ("GET", "/api/notifications"),
    ("POST", "/api/notifications/{notification_id}"),
    ("POST", "/api/notifications/read-all"),
}
PUBLIC = {("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("GET", "/api/health")}


def test_the_live_schema_is_the_one_fuzzed(fuzz_server: ServerProcess) -> None:
    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == OPENAPI
    docs = httpx.get(f"{fuzz_server.url}/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")


def test_the_schema_documents_every_route_and_its_errors() -> None:
    operations = {
        (method.upper(), path): operation
        for path, item in OPENAPI["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) >= ROUTES
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for key, operation in operations.items():
        responses = operation["responses"]
        if key not in PUBLIC:
            assert "401" in responses, key
        for status, response in responses.items():
            if status.startswith("4"):
                schema = response["content"]["application/json"]["schema"]
                assert schema == error_body, (key, status)


def test_every_check_schemathesis_ships_is_enabled() -> None:
    load_all_checks()
    enabled = schema.config.checks_config_for(operation=None, phase=None)
    names = {check.__name__ for check in CHECKS.get_all()}
    assert names >= {"unsupported_method", "use_after_free", "positive_data_acceptance"}
    assert {name for name in names if not enabled.get_by_name(name=name).enabled} == set()


def test_every_path_names_its_documented_methods_in_allow(fuzz_server: ServerProcess) -> None:
    """A method a path does not serve is 405, and ``Allow`` lists every one it does."""
    with httpx.Client(base_url=fuzz_server.url) as client:
        for path, item in OPENAPI["paths"].items():
            documented = {method.upper() for method in item}
            for method in {"OPTIONS", "PATCH", "PUT", "DELETE", "POST", "GET"} - documented:
                response = client.request(method, re.sub(r"\{\w+\}", "1", path))
                assert response.status_code == 405, (method, path, response.text)
                assert response.json()["code"] == "method_not_allowed"
                allowed = {m.strip() for m in response.headers["allow"].split(",")}
                assert allowed - {"HEAD"} == documented, (method, path, allowed)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_its_documented_contract(
    case: Any, fuzz_server: ServerProcess, session_cookie: str
) -> None:
    cookie = _session_for(case, fuzz_server.url, session_cookie)
    case.call_and_validate(
        base_url=fuzz_server.url,
        headers={"Cookie": f"{COOKIE}={cookie}"},
        additional_checks=EXTRA_CHECKS,
    )


def test_sequences_of_operations_keep_the_contract(
    fuzz_server: ServerProcess, session_cookie: str
) -> None:
    """The stateful phase: scenarios chaining operations through the links schemathesis infers
    (the id a POST answers used by the next call), each response checked as above."""
    failures: list[BaseException] = []
    scenarios = 0

    class Scenarios(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            nonlocal scenarios
            scenarios += 1

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            cookie = _session_for(case, fuzz_server.url, session_cookie)
            return {"base_url": fuzz_server.url, "headers": {"Cookie": f"{COOKIE}={cookie}"}}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            checks = [*(additional_checks or []), *EXTRA_CHECKS]
            try:
                super().validate_response(response, case, additional_checks=checks, **kwargs)
            except (Exception, FailureGroup) as failure:
                failures.append(failure)
                raise

    while scenarios < SCENARIOS:
        try:
            Scenarios.run(
                settings=settings(
                    max_examples=SCENARIOS - scenarios,
                    stateful_step_count=6,
                    # Generation only, as schemathesis runs its own stateful phase: a scenario
                    # replayed against a server whose state moved on would not be the same one.
                    phases=[Phase.generate],
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
            break
        except Flaky:
            # Which rules can run depends on what the server answered (the ids it gave out), so
            # Hypothesis may find a scenario's draws differ from an earlier one's and call its
            # generation flaky. schemathesis' engine then starts the phase again; so does this
            # test, unless a check failed (which is reported as such).
            if failures:
                raise failures[0] from None
    assert not failures


def test_the_fuzz_run_had_no_server_errors_in_the_log(fuzz_server: ServerProcess) -> None:
    """Errors the responses could hide (e.g. in background tasks) end up in the server log."""
    assert fuzz_server.log is not None
    log = Path(fuzz_server.log).read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]

"""Property-based run of every documented operation against a live server (schemathesis).

The server is a child process (``tidings serve``): schemathesis calls it synchronously, which
would block an in-process server sharing the test's event loop. It runs signed in as a user who
has a friend, a DM, a group with a message and an incoming friend request, so that small ids
point at real rows. Checks: no 5xx, every status code and content type is documented, and every
body matches its documented schema.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api import PASSWORD
from tests.support.server import ServerProcess
from tests.support.settings import GENEROUS_LIMITS, make_settings, reset_postgres
from tidings.app import create_app
from tidings.config import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
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
schema = schemathesis.openapi.from_dict(OPENAPI).exclude(path="/api/events")


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
    cookie = session_cookie
    if case.path == "/api/auth/logout":
        # Logging out would end the shared session: each logout gets a session of its own.
        with httpx.Client(base_url=fuzz_server.url) as client:
            cookie = _register(client, f"u{uuid.uuid4().hex[:12]}")
    case.call_and_validate(
        base_url=fuzz_server.url, headers={"Cookie": f"{COOKIE}={cookie}"}, checks=CHECKS
    )


def test_the_fuzz_run_had_no_server_errors_in_the_log(fuzz_server: ServerProcess) -> None:
    """Errors the responses could hide (e.g. in background tasks) end up in the server log."""
    assert fuzz_server.log is not None
    log = Path(fuzz_server.log).read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]

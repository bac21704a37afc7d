"""API tokens on a real server: made from a browser session, shown once, sent as a bearer
token; scopes, no Origin check for bearer requests, revocation ending streams at once."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api_helpers import assert_error, friends
from tests.conftest import MakeUser
from tests.support.api import ApiUser
from tests.support.server import LiveServer
from tests.support.sse import open_stream


async def make_token(user: ApiUser, *scopes: str, name: str = "script") -> dict[str, Any]:
    return dict(await user.ok("POST", "/api/tokens", {"name": name, "scopes": list(scopes)}, 201))


def bearer_client(server: LiveServer, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )


async def test_a_token_is_shown_once_and_listed_without_its_secret(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    created = await make_token(alice, "read", name="  backup script ")
    secret = created["secret"]
    assert secret.startswith("tdg_") and len(secret) > 40
    token = created["token"]
    assert token["name"] == "backup script"
    assert token["scopes"] == ["read"]
    assert secret.startswith(token["hint"]) and len(token["hint"]) < 12
    assert token["last_used_at"] is None and token["expires_at"] is None
    listed = await alice.ok("GET", "/api/tokens")
    assert listed["tokens"] == [token]
    assert secret not in str(listed)

    async with bearer_client(server, secret) as script:
        me = await script.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["user"]["id"] == alice.id
    [used] = (await alice.ok("GET", "/api/tokens"))["tokens"]
    assert used["last_used_at"] is not None

    write = await make_token(alice, "write")
    assert write["token"]["scopes"] == ["read", "write"]  # write includes read
    expiring = await alice.ok(
        "POST", "/api/tokens", {"name": "x", "scopes": ["read"], "expires_in_days": 30}, 201
    )
    assert expiring["token"]["expires_at"] is not None
    for bad in (
        {"name": "", "scopes": ["read"]},
        {"name": "x", "scopes": []},
        {"name": "x", "scopes": ["admin"]},
        {"name": "x", "scopes": ["read"], "expires_in_days": 0},
    ):
        assert_error(await alice.post("/api/tokens", bad), 422)


async def test_a_read_token_reads_and_streams_but_cannot_write(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    secret = (await make_token(alice, "read"))["secret"]
    async with bearer_client(server, secret) as script:
        listed = await script.get("/api/conversations")
        assert listed.status_code == 200
        assert [c["id"] for c in listed.json()["conversations"]] == [dm]
        stream = await open_stream(script)
        assert stream.status_code == 200
        await bob.send(dm, "hi")
        frame = await stream.next()
        frame = await stream.next() if frame.event == "connected" else frame
        assert frame.event == "message"
        refused = await script.post(f"/api/conversations/{dm}/messages", json={"content": "x"})
        assert_error(refused, 403, "insufficient_scope")
        assert_error(await script.post(f"/api/conversations/{dm}/read"), 403, "insufficient_scope")
        await stream.close()


async def test_a_write_token_needs_no_origin_and_rides_on_no_cookie(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice, bob = await friends(make_user, "alice", "bob")
    dm = (await alice.dm(bob))["id"]
    secret = (await make_token(alice, "write"))["secret"]
    cross_site = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    async with bearer_client(server, secret) as script:
        sent = await script.post(
            f"/api/conversations/{dm}/messages", json={"content": "from cron"}, headers=cross_site
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["message"]["sender"]["id"] == alice.id
    # The browser's cookie from another site is still refused.
    refused = await alice.post(
        f"/api/conversations/{dm}/messages", {"content": "x"}, headers=cross_site
    )
    assert_error(refused, 403, "cross_site_request")
    # A bearer request is judged by its token alone: a bad token beside a good cookie is 401.
    bad = await alice.client.get("/api/auth/me", headers={"Authorization": "Bearer tdg_nope"})
    assert_error(bad, 401, "invalid_token")
    for header in ("Basic abc", "Bearer", "Bearer " + "x" * 300, "tdg_abc"):
        malformed = await alice.client.get("/api/auth/me", headers={"Authorization": header})
        assert_error(malformed, 401, "invalid_token")


async def test_tokens_cannot_manage_tokens_passwords_or_the_account(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    secret = (await make_token(alice, "write"))["secret"]
    async with bearer_client(server, secret) as script:
        for method, path, body in (
            ("POST", "/api/tokens", {"name": "more", "scopes": ["write"]}),
            ("GET", "/api/tokens", None),
            ("DELETE", "/api/tokens/1", None),
            ("POST", "/api/auth/password", {"current_password": "x", "new_password": "y" * 12}),
            ("POST", "/api/auth/logout", None),
            ("POST", "/api/auth/logout-everywhere", None),
            ("DELETE", "/api/users/me", {"password": "x"}),
        ):
            response = await script.request(method, path, json=body)
            assert_error(response, 403, "session_required")


async def test_a_revoked_token_is_refused_and_its_open_stream_ends(
    server: LiveServer, make_user: MakeUser
) -> None:
    alice = await make_user("alice")
    created = await make_token(alice, "read")
    other = await make_token(alice, "read", name="other")
    async with (
        bearer_client(server, created["secret"]) as script,
        bearer_client(server, other["secret"]) as second,
    ):
        stream = await open_stream(script)
        kept = await open_stream(second)
        assert (await script.get("/api/auth/me")).status_code == 200  # cached from here on
        await alice.ok("DELETE", f"/api/tokens/{created['token']['id']}", status=204)
        await stream.wait_ended()
        assert_error(await script.get("/api/auth/me"), 401, "invalid_token")
        reopened = await open_stream(script)
        assert reopened.status_code == 401
        # The other token and its stream are untouched.
        assert (await second.get("/api/auth/me")).status_code == 200
        assert not kept.ended.is_set()
        await kept.close()
    assert_error(await alice.delete(f"/api/tokens/{created['token']['id']}"), 404, "unknown_token")
    assert [t["name"] for t in (await alice.ok("GET", "/api/tokens"))["tokens"]] == ["other"]
    stranger = await make_user("mallory")
    assert_error(await stranger.delete(f"/api/tokens/{other['token']['id']}"), 404, "unknown_token")

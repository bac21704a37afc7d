"""Accounts over HTTP: register, login, logout, password, search; sessions, CSRF, rate limit."""

from __future__ import annotations

import asyncio
import functools
import re

import httpx
import pytest

from tests.api_helpers import EventLog, assert_error
from tests.support.api import PASSWORD

COOKIE = "tidings_session"
# Routes that answer without a session: signing up and in, and the liveness probe (operations).
PUBLIC = {("POST", "/api/auth/register"), ("POST", "/api/auth/login"), ("GET", "/api/health")}


async def _login_from(
    client: httpx.AsyncClient, body: dict[str, str], address: str
) -> httpx.Response:
    """Sign in as if from ``address`` (the test server trusts X-Forwarded-For from 127.0.0.1)."""
    return await client.post("/api/auth/login", json=body, headers={"X-Forwarded-For": address})


async def _register_from(client: httpx.AsyncClient, username: str, address: str) -> httpx.Response:
    """Sign up as if from ``address`` (the test server trusts X-Forwarded-For from 127.0.0.1)."""
    return await client.post(
        "/api/auth/register",
        json={"username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": address},
    )


def _client(server) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, timeout=30)


async def test_register_answers_the_user_and_an_httponly_lax_session_cookie(server):
    events = await EventLog.start(server)
    async with _client(server) as client:
        response = await client.post(
            "/api/auth/register",
            json={"username": "Alice_1", "password": PASSWORD, "display_name": "  Alice  "},
        )
        assert response.status_code == 201, response.text
        user = response.json()["user"]
        assert user == {
            "id": user["id"],
            "username": "alice_1",
            "display_name": "Alice",
            "avatar_url": None,
            "deleted": False,
            "bot": False,
        }
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert re.search(r"SameSite=lax", cookie, re.IGNORECASE)
        assert "Path=/" in cookie
        me = await client.get("/api/auth/me")
        assert me.status_code == 200
        assert me.json() == {"user": user}
    assert await events.new() == {}


async def test_display_name_defaults_to_the_username(make_user):
    bob = await make_user("bob")
    assert bob.user["display_name"] == "bob"


@pytest.mark.parametrize("username", ["alice", "ALICE", "Alice", " alice "])
async def test_usernames_are_unique_case_insensitively(server, make_user, username):
    await make_user("alice")
    async with _client(server) as client:
        response = await client.post(
            "/api/auth/register", json={"username": username, "password": PASSWORD}
        )
    assert_error(response, 409, "username_taken")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"password": PASSWORD}, id="missing-username"),
        pytest.param({"username": "carol"}, id="missing-password"),
        pytest.param({"username": "ab", "password": PASSWORD}, id="username-too-short"),
        pytest.param({"username": "a" * 33, "password": PASSWORD}, id="username-too-long"),
        pytest.param({"username": "car ol", "password": PASSWORD}, id="username-space"),
        pytest.param({"username": "carol!", "password": PASSWORD}, id="username-symbol"),
        pytest.param({"username": "çarol", "password": PASSWORD}, id="username-non-ascii"),
        pytest.param({"username": 123, "password": PASSWORD}, id="username-number"),
        pytest.param({"username": "carol", "password": None}, id="password-null"),
        pytest.param({"username": "carol", "password": "1234567"}, id="password-too-short"),
        pytest.param({"username": "carol", "password": "x" * 257}, id="password-too-long"),
        pytest.param(
            {"username": "carol", "password": PASSWORD, "display_name": "x" * 65},
            id="display-name-too-long",
        ),
        pytest.param(
            {"username": "carol", "password": PASSWORD, "display_name": "a\x00b"},
            id="display-name-nul",
        ),
        pytest.param(
            {"username": "carol", "password": PASSWORD, "is_admin": True}, id="extra-field"
        ),
        pytest.param(["carol", PASSWORD], id="array"),
    ],
)
async def test_register_refuses_bad_input(server, body):
    async with _client(server) as client:
        response = await client.post("/api/auth/register", json=body)
        assert_error(response, 422, "validation_error")
        assert COOKIE not in response.cookies
        # Nothing was created: the name is still free.
        ok = await client.post(
            "/api/auth/register", json={"username": "carol", "password": PASSWORD}
        )
        assert ok.status_code == 201, ok.text


@pytest.mark.parametrize(
    "content",
    [b"{", b'{"username": "carol",}', b"", b"\xff\xfe not utf-8", b"[" * 60_000],
    ids=["unclosed", "trailing-comma", "empty", "not-utf8", "deep-nesting"],
)
async def test_register_refuses_malformed_json(server, content):
    async with _client(server) as client:
        response = await client.post(
            "/api/auth/register", content=content, headers={"content-type": "application/json"}
        )
    body = assert_error(response, 422)
    assert body["code"] in ("invalid_json", "validation_error")
    if content:
        assert body["code"] == "invalid_json"


async def test_login_with_any_letter_case_starts_a_new_session(server, make_user):
    alice = await make_user("alice")
    events = await EventLog.start(server)
    async with _client(server) as client:
        response = await client.post(
            "/api/auth/login", json={"username": " ALICE ", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"user": alice.user}
        assert "HttpOnly" in response.headers["set-cookie"]
        assert response.cookies[COOKIE] != alice.client.cookies[COOKIE]
        assert (await client.get("/api/auth/me")).json() == {"user": alice.user}
    assert await events.new() == {}


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", PASSWORD), ("a\x01", PASSWORD)],
    ids=["wrong-password", "unknown-user", "impossible-username"],
)
async def test_login_with_wrong_credentials_is_401(server, make_user, username, password):
    await make_user("alice")
    async with _client(server) as client:
        response = await client.post(
            "/api/auth/login", json={"username": username, "password": password}
        )
        assert_error(response, 401, "invalid_credentials")
        assert COOKIE not in response.cookies
        assert_error(await client.get("/api/auth/me"), 401, "not_authenticated")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"username": "alice", "password": 5},
        {"username": "", "password": "x"},
    ],
    ids=["missing-password", "wrong-type", "empty-username"],
)
async def test_login_refuses_bad_input(server, body):
    async with _client(server) as client:
        assert_error(await client.post("/api/auth/login", json=body), 422, "validation_error")


async def test_repeated_failed_logins_are_rate_limited_with_retry_after(server, make_user):
    await make_user("alice")
    attempts = server.settings.login_attempts_per_window
    async with _client(server) as client:
        for _ in range(attempts):
            response = await client.post(
                "/api/auth/login", json={"username": "alice", "password": "wrong password"}
            )
            assert_error(response, 401, "invalid_credentials")
        # Over the limit even the right password is refused, until the window has passed.
        response = await client.post(
            "/api/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert_error(response, 429, "rate_limited")
        retry_after = int(response.headers["retry-after"])
        assert 1 <= retry_after <= server.settings.login_window_seconds


@pytest.mark.settings(
    trusted_proxies="127.0.0.1", login_attempts_per_window=3, login_attempts_per_address=5
)
async def test_failed_logins_are_limited_per_username_and_address_and_per_address(
    server, make_user
):
    # The test client is a trusted proxy: its X-Forwarded-For stands in for client addresses.
    await make_user("alice")
    await make_user("bob")
    wrong = {"username": "alice", "password": "wrong password"}
    alice = {"username": "alice", "password": PASSWORD}
    bob = {"username": "bob", "password": PASSWORD}
    async with _client(server) as client:
        login = functools.partial(_login_from, client)

        # Guessing alice's password from one address: that address is refused for alice...
        for _ in range(3):
            assert_error(await login(wrong, "10.0.0.1"), 401, "invalid_credentials")
        refused = assert_error(await login(alice, "10.0.0.1"), 429, "rate_limited")
        assert refused["detail"]
        assert 1 <= int((await login(alice, "10.0.0.1")).headers["retry-after"]) <= 300
        assert (await login(bob, "10.0.0.1")).status_code == 200
        # ...and guessing from other addresses too: alice, from her own, is never locked out.
        for address in ("10.0.0.2", "10.0.0.3"):
            for _ in range(3):
                assert_error(await login(wrong, address), 401, "invalid_credentials")
            assert_error(await login(alice, address), 429, "rate_limited")
        assert (await login(alice, "10.0.9.9")).status_code == 200

        # One address, many usernames: the address is refused for every username.
        for i in range(5):
            body = {"username": f"nobody{i}", "password": "wrong password"}
            assert_error(await login(body, "10.0.2.1"), 401, "invalid_credentials")
        assert_error(await login(bob, "10.0.2.1"), 429, "rate_limited")
        assert (await login(bob, "10.0.2.2")).status_code == 200

        # Signing in forgets that username's failures from that address.
        for _ in range(2):
            assert_error(await login(wrong, "10.0.3.1"), 401, "invalid_credentials")
        assert (await login(alice, "10.0.3.1")).status_code == 200
        for _ in range(2):
            assert_error(await login(wrong, "10.0.3.1"), 401, "invalid_credentials")
        assert (await login(alice, "10.0.3.1")).status_code == 200

        # Successful sign-ins are not failures: one office address may sign in all day.
        for _ in range(7):
            assert (await login(bob, "10.0.4.1")).status_code == 200


PARALLEL = 40


@pytest.mark.settings(trusted_proxies="127.0.0.1", login_attempts_per_address=5)
async def test_parallel_failed_logins_from_one_address_do_not_overshoot_its_limit(
    server, make_user
):
    # Each attempt holds its place in the address's allowance while its password is verified:
    # in one process, parallel failures never pass the limit (before: all 40 were verified).
    await make_user("bob")
    async with _client(server) as client:

        async def login(username: str, password: str, address: str) -> httpx.Response:
            return await _login_from(client, {"username": username, "password": password}, address)

        async with asyncio.timeout(60):
            responses = await asyncio.gather(
                *(login(f"nobody{i}", "wrong password", "10.0.5.1") for i in range(PARALLEL))
            )
        statuses = [r.status_code for r in responses]
        assert set(statuses) <= {401, 429}, statuses
        assert 1 <= statuses.count(401) <= 5, statuses
        for response in responses:
            if response.status_code == 429:
                assert_error(response, 429, "rate_limited")
                assert int(response.headers["retry-after"]) >= 1
        # Sequentially, the address stays refused until its window passes.
        assert_error(await login("bob", PASSWORD, "10.0.5.1"), 429, "rate_limited")

        # Successes in parallel from one office address use up nothing: once they are done,
        # the whole allowance is still there.
        async with asyncio.timeout(60):
            batch = await asyncio.gather(*(login("bob", PASSWORD, "10.0.6.1") for _ in range(5)))
        assert all(r.status_code in (200, 429) for r in batch), [r.status_code for r in batch]
        for i in range(5):
            assert_error(await login(f"nobody{i}", "wrong", "10.0.6.1"), 401, "invalid_credentials")
        assert_error(await login("bob", PASSWORD, "10.0.6.1"), 429, "rate_limited")


@pytest.mark.settings(trusted_proxies="127.0.0.1", login_attempts_per_address=3)
async def test_failed_logins_from_one_ipv6_64_share_one_limit(server, make_user):
    await make_user("bob")
    async with _client(server) as client:

        async def login(username: str, password: str, address: str) -> httpx.Response:
            return await _login_from(client, {"username": username, "password": password}, address)

        # Three addresses of one /64 (a host may use any of its 2^64): one allowance.
        for i, address in enumerate(("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9")):
            assert_error(await login(f"nobody{i}", "wrong", address), 401, "invalid_credentials")
        assert_error(await login("bob", PASSWORD, "2001:db8:1:2::abcd"), 429, "rate_limited")
        # The next /64 is someone else.
        assert (await login("bob", PASSWORD, "2001:db8:1:3::1")).status_code == 200


@pytest.mark.settings(login_attempts_per_window=2, login_attempts_per_address=3)
async def test_an_untrusted_x_forwarded_for_does_not_dodge_the_login_limits(server, make_user):
    # No trusted proxies: the header is the client's say-so, and the address is the socket's.
    await make_user("alice")
    async with _client(server) as client:
        login = functools.partial(_login_from, client)

        wrong = {"username": "alice", "password": "wrong password"}
        for i in range(2):
            assert_error(await login(wrong, f"10.0.0.{i}"), 401, "invalid_credentials")
        assert_error(await login(wrong, "10.0.0.9"), 429, "rate_limited")
        nobody = {"username": "nobody", "password": "wrong password"}
        assert_error(await login(nobody, "10.0.1.1"), 401, "invalid_credentials")
        assert_error(await login(nobody, "10.0.1.2"), 429, "rate_limited")


@pytest.mark.settings(trusted_proxies="127.0.0.1", rate_limit_register="2/hour")
async def test_registrations_are_limited_per_client_address(server):
    async with _client(server) as client:
        register = functools.partial(_register_from, client)

        assert (await register("first", "10.0.0.1")).status_code == 201
        # A taken name counts too (else probing which names exist would be free).
        assert_error(await register("first", "10.0.0.1"), 409, "username_taken")
        response = await register("third", "10.0.0.1")
        assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 3600
        assert (await register("third", "10.0.0.2")).status_code == 201
    async with _client(server) as client:
        login = {"username": "third", "password": PASSWORD}
        assert (await client.post("/api/auth/login", json=login)).status_code == 200


@pytest.mark.settings(trusted_proxies="127.0.0.1", rate_limit_register="2/hour")
async def test_registrations_from_one_ipv6_64_share_one_limit(server):
    async with _client(server) as client:
        register = functools.partial(_register_from, client)

        assert (await register("first", "2001:db8::1")).status_code == 201
        assert (await register("second", "2001:db8::2")).status_code == 201
        assert_error(await register("third", "2001:db8::ffff:1"), 429, "rate_limited")
        assert (await register("third", "2001:db8:0:1::1")).status_code == 201


async def test_logout_ends_this_session_only(server, make_user):
    alice = await make_user("alice")
    token = alice.client.cookies[COOKIE]
    events = await EventLog.start(server)
    async with _client(server) as other_tab:
        login = await other_tab.post(
            "/api/auth/login", json={"username": "alice", "password": PASSWORD}
        )
        assert login.status_code == 200
        response = await alice.post("/api/auth/logout")
        assert response.status_code == 204
        assert response.content == b""
        assert f'{COOKIE}=""' in response.headers["set-cookie"]
        assert (await other_tab.get("/api/auth/me")).status_code == 200
    async with httpx.AsyncClient(base_url=server.url, cookies={COOKIE: token}) as old:
        assert_error(await old.get("/api/auth/me"), 401, "not_authenticated")
        assert_error(await old.post("/api/auth/logout"), 401, "not_authenticated")
    assert await events.new() == {}


async def test_a_request_naming_another_user_than_its_session_is_refused(server, make_user):
    """The web client names its page's user (``Tidings-User``): a page left open while someone
    else signed in on the browser does nothing as them (its outbox above all)."""
    alice, bob = await make_user("alice"), await make_user("bob")
    await alice.befriend(bob)
    dm = (await alice.dm(bob))["id"]
    send = {"content": "Meant as Bob's", "client_id": "c-1"}
    as_bob = {"Tidings-User": str(bob.id)}
    refused = await alice.client.post(
        f"/api/conversations/{dm}/messages", json=send, headers=as_bob
    )
    assert_error(refused, 401, "session_changed")
    assert_error(await alice.client.get("/api/auth/me", headers=as_bob), 401, "session_changed")
    assert (await alice.ok("GET", f"/api/conversations/{dm}/messages"))["messages"] == []

    as_alice = {"Tidings-User": str(alice.id)}
    sent = await alice.client.post(f"/api/conversations/{dm}/messages", json=send, headers=as_alice)
    assert sent.status_code == 201, sent.text
    assert sent.json()["message"]["sender"]["id"] == alice.id

    # The event stream likewise (an EventSource names the page's user in its query).
    assert_error(await alice.client.get(f"/api/events?user={bob.id}"), 401, "session_changed")
    async with alice.client.stream("GET", f"/api/events?user={alice.id}") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")


async def test_password_change_ends_every_other_session(server, make_user):
    alice = await make_user("alice")
    new_password = "a whole new password"
    events = await EventLog.start(server)
    async with _client(server) as other_tab:
        await other_tab.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
        wrong = await alice.post(
            "/api/auth/password",
            {"current_password": "not it at all", "new_password": new_password},
        )
        assert_error(wrong, 401, "invalid_credentials")
        short = await alice.post(
            "/api/auth/password", {"current_password": PASSWORD, "new_password": "short"}
        )
        assert_error(short, 422, "validation_error")
        assert (await other_tab.get("/api/auth/me")).status_code == 200

        changed = await alice.post(
            "/api/auth/password", {"current_password": PASSWORD, "new_password": new_password}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json() == {"user": alice.user}
        assert (await alice.get("/api/auth/me")).status_code == 200  # its fresh cookie
        assert_error(await other_tab.get("/api/auth/me"), 401, "not_authenticated")

    async with _client(server) as client:
        old = await client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
        assert_error(old, 401, "invalid_credentials")
        new = await client.post(
            "/api/auth/login", json={"username": "alice", "password": new_password}
        )
        assert new.status_code == 200
    assert await events.new() == {}


async def test_user_search_by_prefix(server, make_user):
    alice = await make_user("alice")
    for name in ("alfred", "al_bundy", "albert", "bob"):
        await make_user(name)

    async def search(query: str, **params: object) -> list[str]:
        response = await alice.get("/api/users", params={"q": query, **params})
        assert response.status_code == 200, response.text
        return [u["username"] for u in response.json()]

    # Yourself excluded; "al" is a whole word of al_bundy's name, a prefix of the others'.
    assert await search("al") == ["al_bundy", "albert", "alfred"]
    assert await search("AL") == ["al_bundy", "albert", "alfred"]
    assert await search("al", limit=1) == ["al_bundy"]
    assert await search("") == []  # no friends yet
    assert await search("zed") == []
    # More: tests/accounts/test_user_search.py.


async def test_every_api_route_but_register_and_login_needs_a_session(server, make_user):
    alice = await make_user("alice")
    schema = (await alice.get("/openapi.json")).json()
    operations = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api/")
    ]
    assert len(operations) >= 25
    checked = 0
    for cookies in ({}, {COOKIE: "not-a-session"}, {COOKIE: "x" * 500}):
        async with httpx.AsyncClient(base_url=server.url, cookies=cookies) as anonymous:
            for method, path in operations:
                if (method, path) in PUBLIC:
                    continue
                url = re.sub(r"\{[^}]+\}", str(alice.id), path)
                body: dict[str, object] | None = {} if method == "POST" else None
                response = await anonymous.request(method, url, json=body)
                assert_error(response, 401, "not_authenticated")
                checked += 1
    assert checked == 3 * (len(operations) - len(PUBLIC))


async def test_malformed_json_is_422_on_every_route_that_takes_a_body(server, make_user):
    alice = await make_user("alice")
    schema = (await alice.get("/openapi.json")).json()
    with_body = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(with_body) >= 8
    for method, path in with_body:
        url = re.sub(r"\{[^}]+\}", "1", path)
        for content in (b'{"a": ', b"\xff\xfe", b"{'single': 'quotes'}"):
            response = await alice.client.request(
                method, url, content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422, (method, path, content, response.text)
            assert_error(response, 422, "invalid_json")


async def test_unknown_routes_and_methods_answer_json_errors(make_user):
    alice = await make_user("alice")
    assert_error(await alice.get("/api/nothing-here"), 404, "not_found")
    assert_error(await alice.client.put("/api/auth/me"), 405, "method_not_allowed")
    assert_error(await alice.delete("/api/notifications/read-all"), 405, "method_not_allowed")


async def test_cross_site_writes_are_refused_and_change_nothing(server, make_user):
    alice = await make_user("alice")
    refused = [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": server.url},
    ]
    for headers in refused:
        response = await alice.client.post(
            "/api/auth/password",
            json={"current_password": PASSWORD, "new_password": "hijacked password"},
            headers=headers,
        )
        assert_error(response, 403, "cross_site_request")
        response = await alice.client.post("/api/auth/logout", headers=headers)
        assert_error(response, 403, "cross_site_request")
        async with _client(server) as client:
            response = await client.post(
                "/api/auth/register",
                json={"username": "mallory", "password": PASSWORD},
                headers=headers,
            )
            assert_error(response, 403, "cross_site_request")
        bob_id = alice.id + 1  # any id: the request must not get as far as the route
        response = await alice.client.delete(f"/api/friends/{bob_id}", headers=headers)
        assert_error(response, 403, "cross_site_request")
    # Nothing happened: the session and password are intact, mallory does not exist.
    assert (await alice.get("/api/auth/me")).status_code == 200
    assert await alice.ok("GET", "/api/users?q=mallory") == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "SERVER"},
        {"Origin": "SERVER", "Sec-Fetch-Site": "same-origin"},
    ],
    ids=["no-headers", "same-origin", "user-initiated", "same-origin-origin", "both"],
)
async def test_same_origin_and_non_browser_writes_are_allowed(server, headers):
    headers = {k: v.replace("SERVER", server.url) for k, v in headers.items()}
    async with _client(server) as client:
        response = await client.post(
            "/api/auth/register", json={"username": "carol", "password": PASSWORD}, headers=headers
        )
        assert response.status_code == 201, response.text
        response = await client.post("/api/auth/logout", headers=headers)
        assert response.status_code == 204


async def test_reads_from_another_origin_are_not_refused(make_user):
    alice = await make_user("alice")
    response = await alice.client.get(
        "/api/auth/me", headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 200

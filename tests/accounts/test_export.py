"""``GET /api/users/me/export``: all of yours, as one JSON file, and nobody else's."""

from __future__ import annotations

import json

import pytest

import tidings.accounts.export as export_module


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 2 rows, so that the paging (and its joins) is exercised by a few rows."""
    monkeypatch.setattr(export_module, "EXPORT_PAGE", 2)


async def test_the_export_holds_what_is_yours(make_user, small_pages):
    alice, bob, carol = [await make_user(n) for n in ("alice", "bob", "carol")]
    await alice.befriend(bob)
    await alice.ok("PATCH", "/api/users/me", {"display_name": "Alice", "bio": "about me"})
    await carol.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    dm = await alice.dm(bob)
    group = await alice.group("club", bob)
    sent = [await alice.send(dm["id"], f"dm {i}") for i in range(5)]
    await alice.send(group["id"], "in the group")
    await bob.send(dm["id"], "bob's, not hers @alice")
    for emoji in ("👍", "🎉", "😀"):
        await alice.ok(
            "PUT", f"/api/conversations/{dm['id']}/messages/{sent[0]['id']}/reactions/{emoji}"
        )
    await alice.ok("PUT", f"/api/conversations/{dm['id']}/messages/{sent[1]['id']}/reactions/👍")
    upload = await alice.client.post(
        "/api/attachments", content=b"hello", params={"filename": "a.txt"}
    )
    assert upload.status_code == 201

    response = await alice.get("/api/users/me/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        'attachment; filename="tidings-export-alice.json"'
    )
    data = json.loads(response.content)
    assert data["format"] == 1
    assert data["profile"]["username"] == "alice"
    assert data["profile"]["display_name"] == "Alice"
    assert data["profile"]["bio"] == "about me"
    assert [f["username"] for f in data["friends"]] == ["bob"]
    requests = {
        (r["requester"]["username"], r["addressee"]["username"], r["status"])
        for r in data["friend_requests"]
    }
    assert requests == {("alice", "bob", "accepted"), ("carol", "alice", "pending")}
    conversations = {(c["id"], c["type"], c["name"], c["role"]) for c in data["conversations"]}
    assert conversations == {
        (dm["id"], "direct", None, "member"),
        (group["id"], "group", "club", "owner"),
    }
    contents = [m["content"] for m in data["messages"]]
    assert contents == [*(f"dm {i}" for i in range(5)), "in the group"]  # hers only, in order
    reactions = [(r["message_id"], r["emoji"]) for r in data["reactions"]]
    assert sorted(reactions) == sorted(
        [(sent[0]["id"], e) for e in ("👍", "🎉", "😀")] + [(sent[1]["id"], "👍")]
    )
    assert len(reactions) == 4  # none lost or repeated at the pages' edges
    types = sorted(n["type"] for n in data["notifications"])
    assert types == ["friend_accepted", "friend_request", "mention"]
    [attachment] = data["attachments"]
    assert attachment["filename"] == "a.txt" and attachment["size"] == 5
    assert attachment["message_id"] is None


async def test_an_empty_account_exports_empty_sections(make_user):
    alice = await make_user("alice")
    data = await alice.ok("GET", "/api/users/me/export")
    assert data["friends"] == data["messages"] == data["attachments"] == []
    assert data["conversations"] == data["reactions"] == data["notifications"] == []

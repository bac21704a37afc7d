"""Friends: search, request, seen live, accept; decline and remove, all without reloads."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e


async def test_friend_request_sent_seen_live_and_accepted(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    a = await browsing.open_app(await browsing.signed_in(alice), "/#/friends")
    b = await browsing.open_app(await browsing.signed_in(bob))
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()

    await a.get_by_role("searchbox").fill("bo")
    result = a.get_by_test_id("search-result").filter(has_text="@bob")
    await result.get_by_role("button", name="Add friend").click()
    await expect(result.get_by_text("Requested")).to_be_visible()
    await expect(a.get_by_test_id("outgoing-request")).to_contain_text("Bob Marley")

    # Bob sees it arrive: bell badge, notification, the Friends tab badge and the request.
    await expect(b.get_by_test_id("bell-badge")).to_have_text("1")
    await expect(b).to_have_title("(1) Tidings")
    await expect(b.get_by_test_id("requests-badge")).to_have_text("1")
    await b.get_by_test_id("bell-button").click()
    notification = b.get_by_test_id("notification-item").first
    await expect(notification).to_contain_text("Alice Liddell wants to be your friend")
    await notification.get_by_test_id("notification-open").click()  # opens the Friends view
    await expect(b.get_by_test_id("friends-view")).to_be_visible()
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()
    request = b.get_by_test_id("incoming-request")
    await expect(request).to_contain_text("Alice Liddell")
    await request.get_by_role("button", name="Accept").click()

    await expect(b.get_by_test_id("incoming-request")).to_have_count(0)
    await expect(b.get_by_test_id("friend-item")).to_contain_text(["Alice Liddell"])
    # Alice's page follows: Bob is a friend, the request is gone, she is told.
    await expect(a.get_by_test_id("friend-item")).to_contain_text(["Bob Marley"])
    await expect(a.get_by_test_id("outgoing-request")).to_have_count(0)
    await expect(a.get_by_test_id("bell-badge")).to_have_text("1")
    await a.get_by_test_id("bell-button").click()
    await expect(a.get_by_test_id("notification-item").first).to_contain_text(
        "Bob Marley accepted your friend request"
    )


async def test_decline_and_remove_are_live(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    a = await browsing.open_app(await browsing.signed_in(alice), "/#/friends")
    b = await browsing.open_app(await browsing.signed_in(bob), "/#/friends")
    await expect(a.get_by_test_id("friend-item")).to_contain_text(["Bob Marley"])

    await carol.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    request = b.get_by_test_id("incoming-request")
    await expect(request).to_contain_text("Carol King")
    await request.get_by_role("button", name="Decline").click()
    await expect(b.get_by_test_id("incoming-request")).to_have_count(0)
    await expect(b.get_by_test_id("incoming-empty")).to_be_visible()

    friend = b.get_by_test_id("friend-item").filter(has_text="Alice Liddell")
    await friend.get_by_role("button", name="Remove").click()
    await friend.get_by_role("button", name="Confirm: remove Alice Liddell").click()
    await expect(b.get_by_test_id("friend-item")).to_have_count(0)
    await expect(a.get_by_test_id("friend-item")).to_have_count(0)  # live on Alice's side
    await expect(a.get_by_test_id("friends-empty")).to_be_visible()


async def test_new_friends_start_a_conversation(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await alice.befriend(bob)
    a = await browsing.open_app(await browsing.signed_in(alice))
    b = await browsing.open_app(await browsing.signed_in(bob))
    await expect(a.get_by_test_id("conversations-empty")).to_be_visible()

    await a.get_by_role("button", name="New chat").click()
    await (
        a.get_by_role("dialog", name="New chat")
        .get_by_test_id("dm-friend")
        .filter(has_text="Bob Marley")
        .click()
    )
    await expect(a.get_by_test_id("conversation-title")).to_have_text("Bob Marley")
    await expect(a.get_by_test_id("history-status")).to_have_text("No messages yet. Say hello!")
    await expect(b.get_by_test_id("conversation-name")).to_have_text(["Alice Liddell"])

    # "Message" on a friend opens the same conversation, not a second one.
    await a.get_by_test_id("nav-friends").click()
    await a.get_by_test_id("friend-item").get_by_role("button", name="Message").click()
    await expect(a.get_by_test_id("conversation-title")).to_have_text("Bob Marley")
    await expect(a.get_by_test_id("conversation-item")).to_have_count(1)

"""Finding people in Chromium: the Friends view and the new-chat dialog search as you type
(infixes, typos, display names), mark friends, and are driven from the keyboard."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e


async def test_a_typo_finds_someone_to_befriend(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await make_user("robert", "Robert Smith")
    carol = await make_user("cdanvers", "Carol Danvers")
    await alice.befriend(bob)
    a = await browsing.open_app(await browsing.signed_in(alice), "/#/friends")
    search = a.get_by_test_id("friend-search")

    # An infix: `ob` finds bob (a friend: first, and marked) and robert.
    await search.fill("ob")
    results = a.get_by_test_id("search-result")
    await expect(results).to_have_count(2)
    await expect(results.first).to_contain_text("@bob")
    await expect(results.first.get_by_text("Friends")).to_be_visible()
    await expect(results.nth(1)).to_contain_text("@robert")

    # A typo in a display name, then the keyboard: ↓ to the result's button, Enter sends.
    await search.fill("danvres")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("Carol Danvers")
    await search.press("ArrowDown")
    add = results.first.get_by_role("button", name="Add friend")
    await expect(add).to_be_focused()
    await a.keyboard.press("Enter")
    await expect(results.first.get_by_text("Requested")).to_be_visible()
    requests = await carol.ok("GET", "/api/friends/requests")
    assert [r["requester"]["username"] for r in requests["incoming"]] == ["alice"]

    await search.fill("zzzz")
    await expect(a.get_by_text("Nobody found for “zzzz”.")).to_be_visible()


async def test_new_chat_dialog_finds_a_friend_and_opens_the_dm(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await make_user("bobby", "Bobby Brown")
    await alice.befriend(bob)
    a = await browsing.open_app(await browsing.signed_in(alice))
    await a.get_by_test_id("new-chat-button").click()
    search = a.get_by_test_id("new-chat-search")
    await search.fill("marly")  # a typo in bob's display name
    results = a.get_by_test_id("new-chat-result")
    await expect(results).to_have_count(1)
    await expect(results.first).to_contain_text("Bob Marley")
    await expect(results.first.get_by_text("Friend", exact=True)).to_be_visible()
    await expect(a.get_by_test_id("dm-friends")).to_be_hidden()

    await search.fill("bob")
    await expect(results).to_have_count(2)
    second = results.nth(1)
    await expect(second).to_contain_text("@bobby")
    await expect(second.get_by_role("button", name="Add friend")).to_be_visible()

    await search.press("Enter")  # the best match: bob, a friend: his conversation opens
    await expect(a.get_by_test_id("new-chat-dialog")).to_be_hidden()
    await expect(a.get_by_test_id("conversation-title")).to_have_text("Bob Marley")

"""Presence, typing and read receipts in Chromium (issue 14), two people in two browser
contexts: "is typing" shows in the other person's tab and goes away when they stop or send;
"Seen" shows once the other tab opens the conversation (and "Seen by" in a group); the
partner's presence dot turns online when they open the app and offline after they close it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e


def sidebar_item(page: Page, name: str):
    """The sidebar entry of the conversation called ``name``."""
    title = page.get_by_test_id("conversation-name").filter(
        has_text=re.compile(rf"^{re.escape(name)}$")
    )
    return page.get_by_test_id("conversation-item").filter(has=title)


async def test_typing_shows_in_the_other_tab_and_goes_away(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    context_a = await browsing.signed_in(alice)
    a = await browsing.open_app(context_a, f"/#/c/{dm}")
    a2 = await browsing.open_app(context_a, f"/#/c/{dm}")  # hears the stream through the first
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    typing = a.get_by_test_id("typing-indicator")
    await expect(typing).to_have_text("")
    await expect(typing).to_have_attribute("aria-live", "polite")

    composer = b.get_by_role("textbox", name="Message")
    await composer.press_sequentially("Hel")
    await expect(typing).to_have_text("Bob Marley is typing…")
    await expect(a.get_by_test_id("conversation-preview")).to_have_text("typing…")
    await expect(a2.get_by_test_id("typing-indicator")).to_have_text("Bob Marley is typing…")
    # The draft emptied: Bob stopped typing.
    await composer.fill("")
    await expect(typing).to_have_text("")
    await expect(a2.get_by_test_id("typing-indicator")).to_have_text("")

    # Leaving the conversation with a draft stops it too.
    await composer.press_sequentially("Wait")
    await expect(typing).to_have_text("Bob Marley is typing…")
    await b.goto("/#/")
    await expect(typing).to_have_text("")
    await b.goto(f"/#/c/{dm}")

    # Typing again, then sending: the message ends it.
    await composer.press_sequentially("Hello Alice")
    await expect(typing).to_have_text("Bob Marley is typing…")
    await composer.press("Enter")
    await expect(a.get_by_test_id("message-text").last).to_have_text("Hello Alice")
    await expect(typing).to_have_text("")
    await expect(a.get_by_test_id("conversation-preview")).to_have_text("Hello Alice")


async def test_seen_after_the_other_tab_opens_the_conversation(
    browsing: Browsing, alice_bob_dm, make_user
) -> None:
    alice, bob, dm = alice_bob_dm
    await alice.send(dm, "Are you there?")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await expect(a.get_by_test_id("message-text").last).to_have_text("Are you there?")
    await expect(a.get_by_test_id("read-receipt")).to_have_count(0)

    context_b = await browsing.signed_in(bob)
    b = await browsing.open_app(context_b, "/")
    await expect(a.get_by_test_id("read-receipt")).to_have_count(0)  # not opened yet
    await b.get_by_test_id("conversation-item").click()
    await expect(b.get_by_test_id("message-text").last).to_have_text("Are you there?")
    seen = a.get_by_test_id("read-receipt")
    await expect(seen).to_have_text("Seen")
    # Under Alice's last message: the item right after it.
    await expect(a.locator("[data-testid=message] + [data-testid=read-receipt]")).to_have_count(1)

    # A new message of Alice's is not seen yet; "Seen" comes back when Bob (still there) reads it.
    await a.get_by_role("textbox", name="Message").fill("Hello?")
    await a.get_by_role("textbox", name="Message").press("Enter")
    await expect(b.get_by_test_id("message-text").last).to_have_text("Hello?")
    await b.get_by_test_id("message-list").click()  # doing something in it reads it
    await expect(
        a.locator("[data-testid=message]:has-text('Hello?') + [data-testid=read-receipt]")
    ).to_have_text("Seen")

    # In a group: "Seen by N" under Alice's last message, opening who.
    carol = await make_user("carol", "Carol King")
    await alice.befriend(carol)
    group = await alice.group("Trio", bob, carol)
    await alice.send(group["id"], "Group hello")
    await a.goto(f"/#/c/{group['id']}")
    await expect(a.get_by_test_id("message-text").last).to_have_text("Group hello")
    await b.goto(f"/#/c/{group['id']}")
    await expect(b.get_by_test_id("message-text").last).to_have_text("Group hello")
    seen_by = a.get_by_test_id("seen-by")
    await expect(seen_by).to_have_text("Seen by 1")
    await seen_by.click()
    await expect(a.get_by_test_id("seen-by-list")).to_have_text("Bob Marley")


@pytest.mark.settings(presence_grace_seconds=0.2)
async def test_the_partners_presence_dot(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    item = sidebar_item(a, "Bob Marley")
    avatar = item.locator(".avatar")
    header = a.get_by_test_id("conversation-presence")
    await expect(avatar).to_have_attribute("data-presence", "offline")
    await expect(header).to_have_text("Offline")  # never seen since the server started

    b = await browsing.open_app(await browsing.signed_in(bob), "/")
    await expect(avatar).to_have_attribute("data-presence", "online")
    await expect(avatar).to_have_class(re.compile(r"\bpresence-online\b"))
    await expect(a.get_by_test_id("conversation-avatar")).to_have_attribute(
        "data-presence", "online"
    )
    await expect(header).to_have_text("Online")
    # In words for screen readers too, not colour only.
    await expect(item).to_have_accessible_name(re.compile(r"^Bob Marley\s*, online,"))
    await a.get_by_test_id("nav-friends").click()
    friend = a.get_by_test_id("friend-item").filter(has_text="Bob Marley")
    await expect(friend.locator(".avatar")).to_have_attribute("data-presence", "online")
    await expect(friend.locator(".person-names")).to_have_accessible_name(
        re.compile(r"^Bob Marley\s*@bob\s*, online$")
    )

    await b.close()
    await expect(friend.locator(".avatar")).to_have_attribute("data-presence", "offline")
    await a.goto(f"/#/c/{dm}")
    await expect(avatar).to_have_attribute("data-presence", "offline")
    await expect(header).to_have_text(re.compile(r"^Last seen"))
    await a.get_by_test_id("conversation-title").click()  # the profile card
    await expect(a.get_by_test_id("profile-presence")).to_have_text(re.compile(r"^Last seen"))


@pytest.mark.settings(presence_group_limit=2)
async def test_a_large_groups_seen_by_says_there_may_be_more(browsing: Browsing, make_user) -> None:
    """Above the group limit the server lists only the readers furthest ahead: when every one
    listed has read the message, more may have ("Seen by 2+")."""
    alice = await make_user("alice", "Alice Liddell")
    others = [await make_user(name) for name in ("bob", "carol", "dan")]
    for other in others:
        await alice.befriend(other)
    group = (await alice.group("Crowd", *others))["id"]
    sent = await alice.send(group, "Read me")
    for other in others[:2]:
        await other.ok("POST", f"/api/conversations/{group}/read", None)
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group}")
    await expect(a.get_by_test_id("seen-by")).to_have_text("Seen by 2")
    await others[2].ok("POST", f"/api/conversations/{group}/read", {"message_id": sent["id"]})
    await a.reload()  # receipts are not live in a group this large: asked again on opening
    await expect(a.get_by_test_id("seen-by")).to_have_text("Seen by 2+")

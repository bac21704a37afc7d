"""Message search in the browser: the 🔍 button, Ctrl+K and "/" open it; a word typed finds an
old message, marked in its snippet; opening the result shows the message in its conversation, in
view and highlighted, with the history around it; a search that finds nothing says so; a group
you left is no longer searched."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e


def message(page: Page, text: str):
    """The message whose text is exactly ``text``."""
    return page.get_by_test_id("message").filter(
        has=page.get_by_test_id("message-text").filter(has_text=re.compile(rf"^{re.escape(text)}$"))
    )


def search_dialog(page: Page):
    return page.get_by_role("dialog", name="Search messages")


def search_box(page: Page):
    return search_dialog(page).get_by_role("searchbox", name="Search messages")


async def test_a_result_opens_the_message_in_its_conversation(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    await alice.send(dm, "Before the find")
    await bob.send(dm, "Meet me by the aardvark statue")
    await alice.send(dm, "After the find")
    for n in range(1, 71):
        await (alice if n % 2 else bob).send(dm, f"Filler {n}")
    await alice.send(dm, "Latest")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await expect(message(a, "Latest")).to_be_visible()
    await expect(message(a, "Meet me by the aardvark statue")).to_have_count(0)  # an older page

    # The button opens the dialog with the focus in its search box; Escape gives it back.
    button = a.get_by_role("button", name="Search messages")
    await button.click()
    await expect(search_dialog(a)).to_be_visible()
    await expect(search_box(a)).to_be_focused()
    await expect(a.get_by_test_id("search-status")).to_have_text(
        "Find messages in your conversations."
    )
    await a.keyboard.press("Escape")
    await expect(search_dialog(a)).to_be_hidden()
    await expect(button).to_be_focused()

    # Ctrl+K, even from the composer; a prefix of the word finds it, marked.
    await a.get_by_role("textbox", name="Message").focus()
    await a.keyboard.press("Control+k")
    await expect(search_box(a)).to_be_focused()
    await expect(search_dialog(a).get_by_text("Only in Bob Marley")).to_be_visible()
    await search_box(a).press_sequentially("aardv")
    result = search_dialog(a).get_by_test_id("search-result")
    await expect(result).to_have_count(1)
    await expect(a.get_by_test_id("search-status")).to_have_text("1 message found")
    await expect(result.locator("mark")).to_have_text("aardvark")
    await expect(result.get_by_test_id("search-result-snippet")).to_have_text(
        "Meet me by the aardvark statue"
    )
    await expect(result.get_by_test_id("search-result-conversation")).to_have_text("Bob Marley")
    await expect(result.get_by_test_id("search-result-sender")).to_have_text("Bob Marley")
    await expect(result.get_by_test_id("search-result-time")).not_to_be_empty()

    # ↓ from the box to the result, Enter opens it: the dialog closes, the message shows, loaded
    # with the history around it (the page it is on, not the newest).
    await search_box(a).press("ArrowDown")
    await expect(result).to_be_focused()
    await result.press("Enter")
    await expect(search_dialog(a)).to_be_hidden()
    target = message(a, "Meet me by the aardvark statue")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await expect(message(a, "Before the find")).to_be_visible()
    await expect(message(a, "After the find")).to_be_visible()
    await expect(a.get_by_test_id("jump-latest")).to_be_visible()

    # Twenty results at a time: "Load more" brings the next ones, older.
    await a.keyboard.press("Control+k")
    await search_box(a).fill("filler")
    await expect(result).to_have_count(20)
    await expect(a.get_by_test_id("search-status")).to_have_text("20+ messages found (more below)")
    await expect(result.first.get_by_test_id("search-result-snippet")).to_have_text("Filler 70")
    await search_dialog(a).get_by_role("button", name="Load more").click()
    await expect(result).to_have_count(40)
    await expect(result.last.get_by_test_id("search-result-snippet")).to_have_text("Filler 31")


async def test_nothing_found_and_a_group_left(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await alice.befriend(bob)
    dm = (await alice.dm(bob))["id"]
    group = await bob.group("Zoo trip", alice)
    await bob.send(group["id"], "A quokka in the group")
    await bob.send(dm, "A quokka just for you")
    a = await browsing.open_app(await browsing.signed_in(alice))

    # "/" outside a text field opens it (no conversation open: no "only in" choice).
    await a.locator("body").press("/")
    await expect(search_box(a)).to_be_focused()
    await expect(search_dialog(a).get_by_test_id("search-scope-label")).to_be_hidden()
    await search_box(a).fill("quokka")
    results = search_dialog(a).get_by_test_id("search-result")
    await expect(results.get_by_test_id("search-result-snippet")).to_have_text(
        ["A quokka just for you", "A quokka in the group"]
    )
    await expect(results.get_by_test_id("search-result-conversation")).to_have_text(
        ["Bob Marley", "Zoo trip"]
    )

    # In the group, "only in Zoo trip" leaves out the DM.
    await a.keyboard.press("Escape")
    await a.goto(f"/#/c/{group['id']}")
    await expect(a.get_by_test_id("conversation-title")).to_have_text("Zoo trip")
    await a.keyboard.press("Control+k")
    await expect(results).to_have_count(2)
    await search_dialog(a).get_by_role("checkbox", name="Only in Zoo trip").check()
    await expect(results.get_by_test_id("search-result-snippet")).to_have_text(
        ["A quokka in the group"]
    )
    await search_dialog(a).get_by_role("checkbox", name="Only in Zoo trip").uncheck()
    await expect(results).to_have_count(2)

    # Nothing found.
    await search_box(a).fill("xylophone")
    await expect(a.get_by_test_id("search-status")).to_have_text("No messages found")
    await expect(results).to_have_count(0)

    # Alice leaves the group: searched again (the dialog reopened keeps the query), only the DM.
    await search_box(a).fill("quokka")
    await expect(results).to_have_count(2)
    await alice.ok("DELETE", f"/api/conversations/{group['id']}/members/{alice.id}", status=204)
    await a.keyboard.press("Escape")
    await expect(search_dialog(a)).to_be_hidden()
    await a.keyboard.press("Control+k")
    await expect(search_box(a)).to_have_value("quokka")
    await expect(results.get_by_test_id("search-result-snippet")).to_have_text(
        ["A quokka just for you"]
    )

    # A click opens it: from the conversation list to the conversation, at the message.
    await results.click()
    await expect(search_dialog(a)).to_be_hidden()
    await expect(a).to_have_url(re.compile(rf"#/c/{dm}$"))
    target = message(a, "A quokka just for you")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))


async def test_a_result_wins_over_the_first_unread_message(browsing: Browsing, make_user) -> None:
    """A conversation with unread messages opens at the first of them, unless it is opened to
    show a search result: then the result is what shows, even if its page is already loaded."""
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    dm = (await alice.dm(bob))["id"]
    other = (await alice.dm(carol))["id"]
    await bob.send(dm, "The zebra crossing")
    for n in range(1, 31):
        await bob.send(dm, f"Read {n}")
    await carol.send(other, "Elsewhere")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await expect(message(a, "Read 30")).to_have_count(1)  # all loaded, and read
    await a.get_by_test_id("conversation-item").filter(has_text="Carol King").click()
    await expect(message(a, "Elsewhere")).to_be_visible()
    for n in range(1, 31):
        await bob.send(dm, f"Unread {n}")
    await expect(
        a.get_by_test_id("conversation-item").filter(has_text="Bob Marley")
    ).to_contain_text("30")

    await a.keyboard.press("Control+k")
    await search_box(a).fill("zebra")
    result = search_dialog(a).get_by_test_id("search-result")
    await expect(result).to_have_count(1)
    await result.click()
    target = message(a, "The zebra crossing")
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await expect(target).to_be_in_viewport()

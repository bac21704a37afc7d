"""Messages after they are sent, in two people's browsers: replies, reactions, edits and
deletions seen live by the other member; a quote that goes to an original not loaded yet; a
conversation opened at its first unread message."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Dialog, Page, expect

from tests.e2e.conftest import PHONE, Browsing

pytestmark = pytest.mark.e2e


def message(page: Page, text: str):
    """The message whose text is exactly ``text``."""
    return page.get_by_test_id("message").filter(
        has=page.get_by_test_id("message-text").filter(has_text=re.compile(rf"^{re.escape(text)}$"))
    )


async def open_menu(page: Page, text: str):
    """Open the "⋯" menu of the message ``text``; returns the menu."""
    item = message(page, text)
    await item.hover()
    await item.get_by_role("button", name="Message actions").click()
    menu = page.get_by_role("menu", name="Message actions")
    await expect(menu).to_be_visible()
    return menu


def accept_dialogs(page: Page) -> None:
    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)


async def test_reply_react_edit_and_delete_live(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    await bob.send(dm, "Are you coming tonight?")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    await expect(message(a, "Are you coming tonight?")).to_be_visible()

    # Someone else's message in a DM: reply and react, not edit or delete.
    menu = await open_menu(a, "Are you coming tonight?")
    await expect(menu.get_by_role("menuitem")).to_have_text(["Reply", "React"])
    await menu.get_by_role("menuitem", name="Reply").click()
    bar = a.get_by_test_id("reply-bar")
    await expect(bar).to_have_text(
        re.compile(r"Replying to Bob Marley:\s+Are you coming tonight\?")
    )
    composer = a.get_by_role("textbox", name="Message")
    await expect(composer).to_be_focused()
    await composer.fill("Yes, at 8")
    await composer.press("Enter")
    await expect(bar).to_be_hidden()
    for page in (a, b):
        quote = message(page, "Yes, at 8").get_by_test_id("message-quote")
        await expect(quote).to_have_text(re.compile(r"Bob Marley\s*Are you coming tonight\?"))

    # A reaction from the picker, then the other member's chip toggles theirs.
    original_a = message(a, "Are you coming tonight?")
    await original_a.hover()
    await original_a.get_by_role("button", name="React").click()
    await a.get_by_role("menuitem", name="React with 👍").click()
    chip_a = original_a.get_by_test_id("reaction")
    chip_b = message(b, "Are you coming tonight?").get_by_test_id("reaction")
    await expect(chip_a).to_have_text("👍1")
    await expect(chip_a).to_have_attribute("aria-pressed", "true")
    await expect(chip_b).to_have_text("👍1")
    await expect(chip_b).to_have_attribute("aria-pressed", "false")
    await expect(chip_b).to_have_attribute("title", "Alice Liddell reacted with 👍")
    await chip_b.click()
    for chip in (chip_a, chip_b):
        await expect(chip).to_have_text("👍2")
    await expect(chip_b).to_have_attribute("aria-pressed", "true")
    await expect(chip_a).to_have_attribute("title", "You, Bob Marley reacted with 👍")
    await chip_b.click()
    for chip in (chip_a, chip_b):
        await expect(chip).to_have_text("👍1")

    # Alice edits her reply in place: Escape cancels, Enter saves.
    menu = await open_menu(a, "Yes, at 8")
    await menu.get_by_role("menuitem", name="Edit").click()
    editor = a.get_by_role("textbox", name="Edit message")
    await expect(editor).to_be_focused()
    await expect(editor).to_have_value("Yes, at 8")
    await editor.fill("Never mind")
    await editor.press("Escape")
    await expect(editor).to_have_count(0)
    await expect(message(a, "Yes, at 8")).to_be_visible()
    menu = await open_menu(a, "Yes, at 8")
    await menu.get_by_role("menuitem", name="Edit").click()
    await editor.fill("Yes, at 9")
    await editor.press("Enter")
    for page in (a, b):
        edited = message(page, "Yes, at 9")
        await expect(edited.get_by_test_id("message-edited")).to_have_text("(edited)")
        await expect(edited.get_by_test_id("message-edited")).to_have_attribute(
            "title", re.compile(r"^Edited ")
        )
        await expect(message(page, "Yes, at 8")).to_have_count(0)

    # Bob edits the original: the quote of Alice's reply follows, in both tabs.
    menu = await open_menu(b, "Are you coming tonight?")
    await menu.get_by_role("menuitem", name="Edit").click()
    await b.get_by_role("textbox", name="Edit message").fill("Are you coming tomorrow?")
    await b.get_by_role("textbox", name="Edit message").press("Enter")
    for page in (a, b):
        quote = message(page, "Yes, at 9").get_by_test_id("message-quote")
        await expect(quote).to_contain_text("Are you coming tomorrow?")

    # Alice deletes her reply (after confirming): a placeholder in both tabs and sidebars.
    accept_dialogs(a)
    menu = await open_menu(a, "Yes, at 9")
    await menu.get_by_role("menuitem", name="Delete").click()
    for page in (a, b):
        placeholder = page.get_by_test_id("message").last
        await expect(placeholder.get_by_test_id("message-deleted")).to_have_text("message deleted")
        await expect(placeholder.get_by_test_id("message-text")).to_be_hidden()
        await expect(placeholder.get_by_role("button", name="Message actions")).to_be_hidden()
    await expect(a.get_by_test_id("conversation-preview")).to_have_text("You: message deleted")
    await expect(b.get_by_test_id("conversation-preview")).to_have_text("message deleted")

    # Bob deletes the original: the reply's quote says so.
    accept_dialogs(b)
    menu = await open_menu(b, "Are you coming tomorrow?")
    await menu.get_by_role("menuitem", name="Delete").click()
    for page in (a, b):
        await expect(page.get_by_test_id("message-deleted")).to_have_count(2)
        await expect(page.get_by_test_id("reaction")).to_have_count(0)


async def test_the_message_menu_by_keyboard(browsing: Browsing, alice_bob_dm) -> None:
    """Tab reaches a message's action bar, which shows then; its "⋯" menu and its reaction
    picker have a menu's keys: items out of the Tab order, the arrows, Home and End move, Escape
    closes back to the button, and Tab closes and goes on from the button."""
    alice, bob, dm = alice_bob_dm
    await bob.send(dm, "Lunch tomorrow?")
    await alice.send(dm, "Yes, at noon")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    theirs, mine = message(a, "Lunch tomorrow?"), message(a, "Yes, at noon")
    bar = theirs.locator(".msg-actions")
    more = theirs.get_by_role("button", name="Message actions")
    await expect(bar).to_have_css("opacity", "0")

    # Back from the composer to Bob's message's "⋯": its bar shows.
    await a.get_by_role("textbox", name="Message").focus()
    for _ in range(30):
        if await more.evaluate("el => el === document.activeElement"):
            break
        await a.keyboard.press("Shift+Tab")
    await expect(more).to_be_focused()
    await expect(bar).to_have_css("opacity", "1")

    # Enter opens the menu at its first item; the arrows, Home and End move, round the ends.
    await a.keyboard.press("Enter")
    menu = a.get_by_role("menu", name="Message actions")
    items = menu.get_by_role("menuitem")
    await expect(items).to_have_text(["Reply", "React"])
    await expect(items.first).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "true")
    for index in range(await items.count()):
        await expect(items.nth(index)).to_have_attribute("tabindex", "-1")
    await a.keyboard.press("ArrowDown")
    await expect(items.last).to_be_focused()
    await a.keyboard.press("ArrowDown")
    await expect(items.first).to_be_focused()
    await a.keyboard.press("ArrowUp")
    await expect(items.last).to_be_focused()
    await a.keyboard.press("Home")
    await expect(items.first).to_be_focused()
    await a.keyboard.press("End")
    await expect(items.last).to_be_focused()
    # Escape closes it and gives the focus back to "⋯".
    await a.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await expect(more).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "false")

    # Tab or Shift+Tab closes it and goes on from "⋯", as if the menu had not been there.
    await a.keyboard.press("Tab")
    after_more = await a.evaluate("document.activeElement.outerHTML")
    await a.keyboard.press("Shift+Tab")
    await expect(more).to_be_focused()
    await a.keyboard.press("Shift+Tab")
    before_more = await a.evaluate("document.activeElement.outerHTML")
    await a.keyboard.press("Tab")
    await expect(more).to_be_focused()
    await a.keyboard.press("Enter")
    await expect(items.first).to_be_focused()
    await a.keyboard.press("Tab")
    await expect(menu).to_have_count(0)
    assert await a.evaluate("document.activeElement.outerHTML") == after_more
    await expect(more).to_have_attribute("aria-expanded", "false")
    await a.keyboard.press("Shift+Tab")
    await expect(more).to_be_focused()
    await a.keyboard.press("Enter")
    await a.keyboard.press("Shift+Tab")
    await expect(menu).to_have_count(0)
    assert await a.evaluate("document.activeElement.outerHTML") == before_more

    # The reaction picker of Alice's own message, from its "☺": a menu too.
    react = mine.get_by_role("button", name="React")
    for _ in range(10):
        if await react.evaluate("el => el === document.activeElement"):
            break
        await a.keyboard.press("Tab")
    await expect(react).to_be_focused()
    await expect(mine.locator(".msg-actions")).to_have_css("opacity", "1")
    await a.keyboard.press("Enter")
    picker = a.get_by_role("menu", name="React")
    emoji = picker.get_by_role("menuitem")
    await expect(emoji.first).to_be_focused()
    await expect(emoji.first).to_have_attribute("tabindex", "-1")
    await a.keyboard.press("ArrowDown")
    await expect(emoji.nth(1)).to_be_focused()
    await a.keyboard.press("Escape")
    await expect(picker).to_have_count(0)
    await expect(react).to_be_focused()
    await a.keyboard.press("Enter")
    await a.keyboard.press("End")
    chosen = await emoji.last.get_attribute("title")
    await a.keyboard.press("Enter")
    await expect(picker).to_have_count(0)
    await expect(mine.get_by_test_id("reaction")).to_have_text(f"{chosen}1")


async def test_the_creator_of_a_group_deletes_anyones_message(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await alice.befriend(bob)
    group = await alice.group("g", bob)
    await bob.send(group["id"], "Off-topic spam")
    await alice.send(group["id"], "Please stay on topic")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group['id']}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group['id']}")

    # Bob (a member) may not delete Alice's message; Alice (its creator) may delete his.
    menu = await open_menu(b, "Please stay on topic")
    await expect(menu.get_by_role("menuitem")).to_have_text(["Reply", "React"])
    await b.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    accept_dialogs(a)
    menu = await open_menu(a, "Off-topic spam")
    await expect(menu.get_by_role("menuitem")).to_have_text(["Reply", "React", "Delete"])
    await menu.get_by_role("menuitem", name="Delete").click()
    for page in (a, b):
        await expect(message(page, "Off-topic spam")).to_have_count(0)
        await expect(page.get_by_test_id("message-deleted")).to_have_count(1)


async def test_a_quote_goes_to_an_original_not_loaded(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    original = await alice.send(dm, "The original question")
    for n in range(1, 71):
        await alice.send(dm, f"Filler {n}")
    await bob.ok(
        "POST",
        f"/api/conversations/{dm}/messages",
        {"content": "Answering that", "reply_to_id": original["id"]},
        201,
    )
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    await expect(message(b, "Answering that")).to_be_visible()
    await expect(message(b, "The original question")).to_have_count(0)  # an older page

    await message(b, "Answering that").get_by_test_id("message-quote").click()
    target = message(b, "The original question")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    # The newest messages are out of view (and out of the loaded run): one button brings them.
    jump = b.get_by_test_id("jump-latest")
    await expect(jump).to_be_visible()
    await jump.click()
    await expect(message(b, "Answering that")).to_be_in_viewport()
    await expect(jump).to_be_hidden()
    # The whole history is there, once, in order.
    await expect(b.get_by_test_id("message-text")).to_have_count(72)


async def test_opening_at_the_first_unread_message(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    for n in range(1, 31):
        await alice.send(dm, f"Read {n}")
    await bob.ok("POST", f"/api/conversations/{dm}/read")
    for n in range(1, 61):
        await alice.send(dm, f"Unread {n}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")

    divider = b.get_by_test_id("unread-divider")
    await expect(divider).to_have_text("New messages")
    await expect(divider).to_be_in_viewport()
    await expect(message(b, "Unread 1")).to_be_in_viewport()
    # Just before the divider, the last message read; just after it, the first unread.
    following = b.locator("[data-testid=unread-divider] + [data-testid=message]")
    await expect(following.get_by_test_id("message-text")).to_have_text("Unread 1")
    preceding = b.locator("[data-testid=message]:has(+ [data-testid=unread-divider])")
    await expect(preceding.get_by_test_id("message-text")).to_have_text("Read 30")
    # Opening it read it.
    await expect(b.get_by_test_id("unread-badge")).to_be_hidden()

    # The newest is not loaded yet: "Jump to latest" loads it and goes there.
    await expect(message(b, "Unread 60")).to_have_count(0)
    jump = b.get_by_test_id("jump-latest")
    await expect(jump).to_be_visible()
    await jump.click()
    await expect(message(b, "Unread 60")).to_be_in_viewport()
    await expect(jump).to_be_hidden()

    # Someone else's new message while it is open adds no second divider.
    await alice.send(dm, "One more")
    await expect(message(b, "One more")).to_be_visible()
    await expect(divider).to_have_count(1)


async def test_scrolling_down_a_run_loads_newer_pages(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    await alice.send(dm, "Read 1")
    await bob.ok("POST", f"/api/conversations/{dm}/read")
    for n in range(1, 101):
        await alice.send(dm, f"Unread {n}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    await expect(b.get_by_test_id("unread-divider")).to_be_in_viewport()
    await b.get_by_test_id("message-list").hover()
    for _ in range(10):  # each scroll to the bottom loads a newer page
        await b.mouse.wheel(0, 100_000)
        if await message(b, "Unread 100").count():
            break
        await expect(b.get_by_test_id("history-status")).not_to_contain_text("Loading")
    await expect(message(b, "Unread 100")).to_be_visible()
    await expect(b.get_by_test_id("message-text")).to_have_count(101)


async def test_a_long_press_opens_the_menu_on_a_phone(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    await bob.send(dm, "Hold me")
    context = await browsing.signed_in(alice, viewport=PHONE)
    a = await browsing.open_app(context, f"/#/c/{dm}")
    item = message(a, "Hold me")
    box = await item.get_by_test_id("message-text").bounding_box()
    assert box is not None
    point = {"pointerType": "touch", "clientX": box["x"] + 5, "clientY": box["y"] + 5}
    await item.get_by_test_id("message-text").dispatch_event("pointerdown", point)
    menu = a.get_by_role("menu", name="Message actions")
    await expect(menu).to_be_visible()  # after the press is held, without a click
    await item.get_by_test_id("message-text").dispatch_event("pointerup", point)
    await menu.get_by_role("menuitem", name="React").click()
    await a.get_by_role("menuitem", name="React with 🎉").click()
    await expect(item.get_by_test_id("reaction")).to_have_text("🎉1")


async def test_a_mention_rings_the_bell_and_opens_at_the_message(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await alice.befriend(bob)
    group = await bob.group("Band", alice)
    await bob.send(group["id"], "Who brings the drums, @alice?")
    for n in range(1, 61):
        await bob.send(group["id"], f"Chatter {n}")
    a = await browsing.open_app(await browsing.signed_in(alice))
    await a.get_by_test_id("bell-button").click()
    mention = a.get_by_test_id("notification-item").filter(has_text="mentioned you in Band")
    await expect(mention).to_contain_text("Bob Marley")
    await mention.click()
    target = message(a, "Who brings the drums, @alice?")
    await expect(target).to_be_in_viewport()
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await expect(target.locator(".mention-me")).to_have_text("@alice")  # her own name stands out


async def test_the_edit_history_opens_from_edited(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    sent = await alice.send(dm, "Dinner at 7")
    path = f"/api/conversations/{dm}/messages/{sent['id']}"
    await alice.ok("PATCH", path, {"content": "Dinner at 8"})
    await alice.ok("PATCH", path, {"content": "Dinner at 8:30"})
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    edited = message(b, "Dinner at 8:30").get_by_test_id("message-edited")
    await edited.click()
    history = b.get_by_role("dialog", name="Edit history")
    await expect(history).to_be_focused()
    versions = history.get_by_test_id("edit-history-version")
    await expect(versions).to_have_count(3)
    await expect(versions.locator(".edit-history-text")).to_have_text(
        ["Dinner at 8:30", "Dinner at 8", "Dinner at 7"]
    )
    await b.keyboard.press("Escape")
    await expect(history).to_have_count(0)
    await expect(edited).to_be_focused()

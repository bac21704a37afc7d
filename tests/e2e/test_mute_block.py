"""Mute and block in the browser (issue 14): a muted conversation still counts unread messages
but gives no bell entry and raises no system notification, except for a mention of you; a block
turns a DM's composer off on both sides, and a send the server refuses for a block says why.
"""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Dialog, Locator, Page, Route, expect

from tests.e2e.attention import hide, raised, show, with_hooks
from tests.e2e.conftest import Browsing
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e


async def test_a_muted_conversation_raises_nothing_but_a_mention(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, _ = alice_bob_dm
    await bob.ok("POST", "/api/notifications/read-all")
    group = (await alice.group("Hikers", bob))["id"]
    await bob.ok("POST", "/api/notifications/read-all")  # added to the group
    context = await with_hooks(await browsing.signed_in(bob), server.url)
    tab = await browsing.open_app(context, f"/#/c/{group}")
    other = await browsing.open_app(context)

    # Muted from the header's menu, until unmuted: both tabs show it muted.
    await tab.get_by_test_id("mute-button").click()
    await tab.get_by_test_id("mute-forever").click()
    await expect(tab.get_by_test_id("mute-button")).to_have_attribute(
        "aria-label", "Muted until you unmute"
    )
    entry = other.get_by_test_id("conversation-item").filter(has_text="Hikers")
    await expect(entry.get_by_test_id("muted-icon")).to_be_visible()
    conversation = await bob.ok("GET", f"/api/conversations/{group}")
    assert conversation["muted_until"].startswith("9999-12-31")

    await tab.goto("/#/")
    await hide(tab, other)
    await alice.send(group, "Sunday at nine")
    for page in (tab, other):
        entry = page.get_by_test_id("conversation-item").filter(has_text="Hikers")
        await expect(entry.get_by_test_id("unread-badge")).to_have_text("1")  # still counted
        await expect(page.get_by_test_id("bell-badge")).to_be_hidden()  # no bell entry
        await expect(page).to_have_title("Tidings")
    assert await raised(tab) + await raised(other) == []

    # A mention of Bob there is a stored notification: the bell counts it, one tab raises it.
    await alice.send(group, "@bob bring the map")
    for page in (tab, other):
        await expect(page.get_by_test_id("bell-badge")).to_have_text("1")
    found = await raised(tab) + await raised(other)
    assert [(n["title"], n["body"]) for n in found] == [
        ("Alice Liddell mentioned you in Hikers", "@bob bring the map")
    ]

    # Unmuted (in the other tab): messages notify again.
    await show(other)
    await other.goto(f"/#/c/{group}")
    await other.get_by_test_id("mute-button").click()
    await other.get_by_test_id("unmute").click()
    await expect(other.get_by_test_id("mute-button")).to_have_attribute(
        "aria-label", "Mute notifications"
    )
    await expect(
        tab.get_by_test_id("conversation-item")
        .filter(has_text="Hikers")
        .get_by_test_id("muted-icon")
    ).to_be_hidden()
    await other.goto("/#/")
    await hide(other)
    await alice.send(group, "See you there")
    for page in (tab, other):
        await expect(page.get_by_test_id("conversation-preview").first).to_have_text(
            "Alice Liddell: See you there"
        )
    found = await raised(tab) + await raised(other)
    assert [n["body"] for n in found] == ["@bob bring the map", "See you there"]


async def test_a_timed_mute_ends_by_itself(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    await bob.ok("POST", "/api/notifications/read-all")
    tab = await browsing.open_app(await browsing.signed_in(bob))
    await alice.send(dm, "psst")
    await expect(tab.get_by_test_id("bell-badge")).to_have_text("1")
    # Muted until a moment from now (the API takes any time; the menu offers an hour and more).
    until = await tab.evaluate("new Date(Date.now() + 3000).toISOString()")
    await bob.ok("PUT", f"/api/conversations/{dm}/mute", {"until": until})
    await expect(tab.get_by_test_id("muted-icon")).to_be_visible()
    await expect(tab.get_by_test_id("bell-badge")).to_be_hidden()
    await expect(tab.get_by_test_id("unread-badge")).to_have_text("1")
    # When it ends, the page shows it without being told.
    await expect(tab.get_by_test_id("muted-icon")).to_be_hidden()
    await expect(tab.get_by_test_id("bell-badge")).to_have_text("1")


async def test_a_block_closes_the_dm_on_both_sides_and_a_refused_send_says_why(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")

    # Alice starts a message whose request is held until Bob has blocked her.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        if route.request.method == "POST":
            await release.wait()
        await route.continue_()

    await a.route("**/api/conversations/*/messages", hold)
    composer = a.get_by_role("textbox", name="Message")
    await composer.fill("Are you ignoring me?")
    await composer.press("Enter")

    # Bob blocks her from her profile card (confirmed).
    b.on("dialog", lambda dialog: asyncio.ensure_future(accept(dialog)))
    await b.get_by_test_id("conversation-title").click()
    card = b.get_by_test_id("profile-card")
    await card.get_by_test_id("profile-block").click()
    await expect(card.get_by_test_id("profile-unblock")).to_be_visible()
    await expect(card.get_by_test_id("profile-add-friend")).to_have_count(0)
    await card.get_by_test_id("profile-close").click()

    # Both composers are off; Bob's says he blocked her and offers to unblock.
    await expect(b.get_by_test_id("composer-blocked")).to_contain_text(
        "You can't message each other: you blocked Alice Liddell."
    )
    await expect(b.get_by_test_id("composer-unblock")).to_be_visible()
    await expect(b.get_by_role("textbox", name="Message")).to_be_disabled()
    await expect(a.get_by_test_id("composer-blocked-text")).to_have_text(
        "You can't message each other."
    )
    await expect(a.get_by_test_id("composer-unblock")).to_be_hidden()
    await expect(composer).to_be_disabled()

    # The held send reaches the server now: refused, and the page says why, in the server's words.
    release.set()
    await expect(a.get_by_test_id("composer-error")).to_have_text(
        "Bob Marley is not accepting messages from you."
    )
    await expect(a.locator(".msg.failed")).to_contain_text(
        "Not sent: Bob Marley is not accepting messages from you"
    )
    await a.unroute("**/api/conversations/*/messages", hold)

    # Bob's settings list her; unblocking there opens the DM again on both sides.
    await b.get_by_test_id("settings-button").click()
    person = b.get_by_test_id("settings-blocked-person")
    await expect(person).to_have_text("Alice Liddell (@alice)Unblock")
    await person.get_by_test_id("settings-unblock").click()
    await expect(b.get_by_test_id("settings-blocked-empty")).to_be_visible()
    await b.get_by_test_id("settings-close").click()
    for page in (a, b):
        await expect(page.get_by_test_id("composer-blocked")).to_be_hidden()
        await expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
    await expect(a.get_by_test_id("composer-error")).to_be_hidden()
    await composer.fill("Sorry")
    await composer.press("Enter")
    await expect(b.get_by_test_id("message-text").last).to_have_text("Sorry")


async def accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_the_sidebar_menu_mutes_unmutes_and_marks_read(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    group = (await alice.group("Hikers", bob))["id"]
    context = await browsing.signed_in(bob)
    tab = await browsing.open_app(context)
    other = await browsing.open_app(context)

    def muted_icon(page: Page, name: str) -> Locator:
        entry = page.get_by_test_id("conversation-item").filter(has_text=name)
        return entry.get_by_test_id("muted-icon")

    # The entry's "More actions" button opens its menu, not the conversation.
    more = tab.get_by_role("button", name="More actions for Hikers")
    menu = await open_entry_menu(tab, "Hikers")
    await expect(menu).to_be_visible()
    await expect(more).to_have_attribute("aria-expanded", "true")
    await expect(menu.get_by_role("menuitem", name="Mute for 1 hour")).to_be_focused()
    await expect(menu.get_by_role("menuitem", name="Unmute", exact=True)).to_have_count(0)
    assert "#/c/" not in tab.url

    # Muted until unmuted: the icon shows in both tabs (the second one hears the event).
    await menu.get_by_role("menuitem", name="Until I unmute").click()
    await expect(menu).to_be_hidden()
    await expect(more).to_be_focused()
    for page in (tab, other):
        await expect(muted_icon(page, "Hikers")).to_be_visible()
    conversation = await bob.ok("GET", f"/api/conversations/{group}")
    assert conversation["muted_until"].startswith("9999-12-31")

    # A muted conversation's menu offers Unmute instead; the icon goes in both tabs.
    await open_entry_menu(tab, "Hikers")
    await expect(menu.get_by_role("menuitem", name="Mute for 1 hour")).to_have_count(0)
    await menu.get_by_role("menuitem", name="Unmute", exact=True).click()
    for page in (tab, other):
        await expect(muted_icon(page, "Hikers")).to_be_hidden()
    conversation = await bob.ok("GET", f"/api/conversations/{group}")
    assert conversation["muted_until"] is None

    # A message from Alice: her entry's menu marks it read, and the badge goes in both tabs.
    await alice.send(dm, "Are you there?")
    for page in (tab, other):
        entry = page.get_by_test_id("conversation-item").filter(has_text="Alice Liddell")
        await expect(entry.get_by_test_id("unread-badge")).to_have_text("1")
    alices = await open_entry_menu(tab, "Alice Liddell")
    await alices.get_by_role("menuitem", name="Mark as read").click()
    for page in (tab, other):
        entry = page.get_by_test_id("conversation-item").filter(has_text="Alice Liddell")
        await expect(entry.get_by_test_id("unread-badge")).to_be_hidden()
    assert (await bob.ok("GET", f"/api/conversations/{dm}"))["unread_count"] == 0
    assert "#/c/" not in tab.url

    # The menu offers no Mark as read for a conversation already read; a click outside closes it.
    await open_entry_menu(tab, "Alice Liddell")
    await expect(alices.get_by_role("menuitem", name="Mark as read")).to_have_count(0)
    await tab.get_by_test_id("empty-state").click()
    await expect(alices).to_be_hidden()


async def open_entry_menu(page: Page, name: str) -> Locator:
    """Open the menu of the sidebar entry named `name` with the mouse: over the entry (which
    shows its button), a click on "More actions"."""
    await page.get_by_test_id("conversation-item").filter(has_text=name).hover()
    await page.get_by_role("button", name=f"More actions for {name}").click()
    menu = page.get_by_role("menu", name=f"Actions for {name}")
    await expect(menu).to_be_visible()
    return menu


async def test_an_open_sidebar_menu_follows_its_conversation(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    tab = await browsing.open_app(await browsing.signed_in(bob))

    # Alice's menu open, the focus on its second item: her message makes the entry unread, and
    # Mark as read appears in the open menu, the focus staying where it was.
    menu = await open_entry_menu(tab, "Alice Liddell")
    await tab.keyboard.press("ArrowDown")
    eight_hours = menu.get_by_role("menuitem", name="Mute for 8 hours")
    await expect(eight_hours).to_be_focused()
    await alice.send(dm, "Are you there?")
    await expect(menu.get_by_role("menuitem", name="Mark as read")).to_be_visible()
    await expect(eight_hours).to_be_focused()

    # Muted elsewhere (another tab; here the API): the open menu offers Unmute instead, and the
    # focus, its item gone, is on the first.
    await bob.ok("PUT", f"/api/conversations/{dm}/mute", {"until": None})
    unmute = menu.get_by_role("menuitem", name="Unmute", exact=True)
    await expect(unmute).to_be_focused()
    await expect(eight_hours).to_have_count(0)
    await expect(menu.get_by_role("menuitem")).to_have_count(2)  # Unmute, Mark as read


async def test_escape_on_a_sidebar_entrys_button_closes_its_menu(
    browsing: Browsing, alice_bob_dm
) -> None:
    _, bob, _ = alice_bob_dm
    tab = await browsing.open_app(await browsing.signed_in(bob))
    menu = await open_entry_menu(tab, "Alice Liddell")

    # Escape with the focus on the button, the menu open, closes it.
    more = tab.get_by_role("button", name="More actions for Alice Liddell")
    await more.focus()
    await expect(menu).to_be_visible()
    await tab.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await expect(more).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "false")


async def test_a_sidebar_entry_leaving_with_its_menu_open_hands_the_focus_on(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, _ = alice_bob_dm
    group = (await alice.group("Hikers", bob))["id"]
    await alice.send((await alice.dm(bob))["id"], "Hello")  # Alice's DM first, Hikers last
    tab = await browsing.open_app(await browsing.signed_in(bob))
    await expect(tab.get_by_test_id("conversation-item").last).to_contain_text("Hikers")

    # Hikers' menu open (the last entry) when Alice takes Bob out of the group: the entry and its
    # menu go, and the focus goes to the entry now last, Alice's, not to the page.
    hikers = await open_entry_menu(tab, "Hikers")
    await expect(hikers.get_by_role("menuitem").first).to_be_focused()
    await alice.ok("DELETE", f"/api/conversations/{group}/members/{bob.id}", status=204)
    await expect(hikers).to_have_count(0)
    await expect(tab.get_by_test_id("conversation-item")).to_have_count(1)
    alices = tab.get_by_test_id("conversation-item").filter(has_text="Alice Liddell")
    await expect(alices).to_be_focused()


async def test_the_header_mute_menu_keys_and_redraw(browsing: Browsing, alice_bob_dm) -> None:
    _, bob, dm = alice_bob_dm
    tab = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    button = tab.get_by_test_id("mute-button")
    menu = tab.get_by_test_id("mute-menu")

    # Its items are out of the Tab order; the arrows move between them.
    await button.click()
    items = menu.get_by_role("menuitem")
    await expect(items.first).to_be_focused()
    for index in range(await items.count()):
        await expect(items.nth(index)).to_have_attribute("tabindex", "-1")
    await tab.keyboard.press("ArrowDown")
    await expect(items.nth(1)).to_be_focused()

    # Muted elsewhere while open: Unmute appears, the focus stays on its item.
    await bob.ok("PUT", f"/api/conversations/{dm}/mute", {"until": None})
    await expect(menu.get_by_test_id("unmute")).to_be_visible()
    await expect(menu.get_by_test_id("mute-8h")).to_be_focused()

    # Escape with the focus on the button, the menu open, closes it.
    await button.focus()
    await expect(menu).to_be_visible()
    await tab.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(button).to_be_focused()
    await expect(button).to_have_attribute("aria-expanded", "false")

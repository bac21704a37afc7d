"""Groups in the browser: the members panel (rename, remove, promote, delete, leave), what each
role is offered there, and the other members' tabs following live: header, sidebar, system lines,
and a removed member's sidebar dropping the group."""

from __future__ import annotations

import io
import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Browsing, expect_live

pytestmark = pytest.mark.e2e


def sidebar_names(page: Page):
    return page.get_by_test_id("conversation-name")


def member_row(page: Page, name: str):
    """The members panel's row of the person called ``name``."""
    return page.get_by_test_id("members-panel").get_by_test_id("member").filter(has_text=name)


async def open_panel(page: Page):
    await page.get_by_test_id("members-button").click()
    panel = page.get_by_test_id("members-panel")
    await expect(panel).to_be_visible()
    return panel


async def member_action(page: Page, name: str, action: str) -> None:
    """Open ``name``'s menu in the panel and pick ``action`` (a test id: ``member-remove``...)."""
    await member_row(page, name).get_by_test_id("member-menu-button").click()
    await page.get_by_test_id("member-menu").get_by_test_id(action).click()


async def confirm(page: Page, text: str) -> None:
    dialog = page.get_by_test_id("confirm-dialog")
    await expect(dialog.get_by_test_id("confirm-text")).to_have_text(text)
    await expect(dialog.get_by_test_id("confirm-cancel")).to_be_focused()
    await dialog.get_by_test_id("confirm-ok").click()
    await expect(dialog).to_be_hidden()


@pytest.fixture
async def book_club(make_user):
    """Alice (the owner) with her friends Bob and Carol in "Book club"; its id last."""
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    group = await alice.group("Book club", bob, carol)
    await alice.send(group["id"], "Welcome, both!")
    return alice, bob, carol, group["id"]


async def test_admin_renames_and_removes_a_member_live(browsing: Browsing, book_club) -> None:
    alice, bob, carol, group_id = book_club
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group_id}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group_id}")
    c = await browsing.open_app(await browsing.signed_in(carol), f"/#/c/{group_id}")
    await expect(b.get_by_test_id("message-text").last).to_have_text("Welcome, both!")

    panel = await open_panel(a)
    await expect(panel.get_by_test_id("members-title")).to_have_text("Book club")
    await expect(panel.get_by_test_id("member")).to_have_count(3)
    await expect(member_row(a, "Alice Liddell")).to_contain_text("(you)")
    await expect(member_row(a, "Alice Liddell").get_by_test_id("member-role")).to_have_text("Owner")
    await expect(member_row(a, "Bob Marley").get_by_test_id("member-role")).to_be_hidden()
    await expect(member_row(a, "Alice Liddell").get_by_test_id("member-menu-button")).to_be_hidden()

    # Rename: the panel, and Bob's header, sidebar and timeline, without a reload.
    await panel.get_by_test_id("group-name-input").fill("Novel club")
    await panel.get_by_test_id("group-description-input").fill("One novel a month")
    await panel.get_by_test_id("group-settings-save").click()
    await expect(panel.get_by_test_id("members-title")).to_have_text("Novel club")
    await expect(panel.get_by_test_id("members-description")).to_have_text("One novel a month")
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Novel club")
    await expect(sidebar_names(b)).to_have_text(["Novel club"])
    lines = b.get_by_test_id("system-line")
    await expect(lines.filter(has_text="renamed")).to_have_text(
        ["Alice Liddell renamed the group to “Novel club”"]
    )
    await expect(lines.filter(has_text="description")).to_have_text(
        ["Alice Liddell changed the group's description"]
    )
    # A system line is no message: no menu, no reactions.
    await expect(lines.first.get_by_role("button")).to_have_count(0)

    # Remove Carol, after a confirmation.
    await member_action(a, "Carol King", "member-remove")
    await confirm(a, "Remove Carol King from “Novel club”?")
    await expect(panel.get_by_test_id("member")).to_have_count(2)
    await expect(panel.get_by_test_id("members-error")).to_be_hidden()
    await expect(lines.last).to_have_text("Alice Liddell removed Carol King")
    await expect(b.get_by_test_id("conversation-members")).not_to_contain_text("Carol")
    await expect(b.get_by_test_id("conversation-preview")).to_have_text(
        "Alice Liddell removed Carol King"
    )
    # Carol: the group leaves her sidebar, and her open tab says why it closed.
    await expect(c.get_by_test_id("conversation-item")).to_have_count(0)
    await expect(c.get_by_test_id("departed-notice")).to_have_text(
        "You are no longer in “Novel club”."
    )
    await expect(c.get_by_test_id("conversation-view")).to_be_hidden()

    # Escape closes the panel; the focus goes back to the button that opened it.
    await a.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(a.get_by_test_id("members-button")).to_be_focused()

    # The same from a fresh load: the lines come with the history.
    await b.reload()
    await expect_live(b)
    await expect(b.get_by_test_id("system-line").last).to_have_text(
        "Alice Liddell removed Carol King"
    )
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Novel club")


async def test_roles_decide_what_the_panel_offers(browsing: Browsing, book_club) -> None:
    alice, bob, carol, group_id = book_club
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group_id}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group_id}")
    c = await browsing.open_app(await browsing.signed_in(carol), f"/#/c/{group_id}")

    # Bob, a member: he may add people while the group lets members do so (its default).
    b_panel = await open_panel(b)
    await expect(b_panel.get_by_test_id("member")).to_have_count(3)
    await expect(b_panel.get_by_test_id("add-people-button")).to_be_visible()
    a_panel = await open_panel(a)
    await a_panel.get_by_test_id("members-can-add").uncheck()
    await expect(c.get_by_test_id("system-line").last).to_have_text(
        "Alice Liddell let only admins add people"
    )
    # Now he sees the members and can leave, nothing more.
    await expect(b_panel.get_by_test_id("group-settings")).to_be_hidden()
    await expect(b_panel.get_by_test_id("member-menu-button").filter(visible=True)).to_have_count(0)
    await expect(b_panel.get_by_test_id("add-people-button")).to_be_hidden()
    await expect(b_panel.get_by_test_id("delete-group")).to_be_hidden()
    await expect(b_panel.get_by_test_id("leave-group")).to_be_visible()

    # Alice makes him an admin: his open panel changes at once.
    await member_action(a, "Bob Marley", "member-promote")
    await expect(member_row(a, "Bob Marley").get_by_test_id("member-role")).to_have_text("Admin")
    await expect(member_row(b, "Bob Marley").get_by_test_id("member-role")).to_have_text("Admin")
    await expect(b_panel.get_by_test_id("group-settings")).to_be_visible()
    await expect(b_panel.get_by_test_id("add-people-button")).to_be_visible()
    await expect(b_panel.get_by_test_id("delete-group")).to_be_hidden()
    # An admin may act on members, not on the owner.
    await expect(member_row(b, "Alice Liddell").get_by_test_id("member-menu-button")).to_be_hidden()
    carols = member_row(b, "Carol King").get_by_test_id("member-menu-button")
    await carols.click()
    menu = b.get_by_test_id("member-menu")
    items = menu.get_by_role("menuitem")
    await expect(items).to_have_text(["Make admin", "Remove from group"])
    # A menu's keys: its items out of the Tab order, the arrows, Home and End move between them.
    await expect(items.first).to_be_focused()
    for index in range(await items.count()):
        await expect(items.nth(index)).to_have_attribute("tabindex", "-1")
    await b.keyboard.press("ArrowDown")
    await expect(items.last).to_be_focused()
    await b.keyboard.press("ArrowDown")
    await expect(items.first).to_be_focused()  # round to the start
    await b.keyboard.press("End")
    await expect(items.last).to_be_focused()
    await b.keyboard.press("Home")
    await expect(items.first).to_be_focused()
    # Escape closes the menu, not the panel.
    await b.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(b_panel).to_be_visible()
    await expect(carols).to_be_focused()
    await expect(carols).to_have_attribute("aria-expanded", "false")
    # Tab closes it and goes on from its button, as if it had not been there.
    await b.keyboard.press("Tab")
    after_button = await b.evaluate("document.activeElement.outerHTML")
    await b.keyboard.press("Shift+Tab")
    await expect(carols).to_be_focused()
    await b.keyboard.press("Enter")
    await expect(items.first).to_be_focused()
    await b.keyboard.press("Tab")
    await expect(menu).to_be_hidden()
    await expect(b_panel).to_be_visible()
    assert await b.evaluate("document.activeElement.outerHTML") == after_button
    await expect(carols).to_have_attribute("aria-expanded", "false")

    # Carol, a member: no settings form, no menus; the system line names the promotion.
    await expect(c.get_by_test_id("system-line").last).to_have_text(
        "Alice Liddell made Bob Marley an admin"
    )
    c_panel = await open_panel(c)
    await expect(c_panel.get_by_test_id("group-settings")).to_be_hidden()
    await expect(c_panel.get_by_test_id("group-name-input")).to_be_hidden()
    await expect(c_panel.get_by_test_id("member-menu-button").filter(visible=True)).to_have_count(0)

    # The owner's menu on an admin: demote, make owner, hand over, remove.
    await member_row(a, "Bob Marley").get_by_test_id("member-menu-button").click()
    await expect(a.get_by_test_id("member-menu").get_by_role("menuitem")).to_have_text(
        ["Remove admin", "Make owner", "Transfer ownership", "Remove from group"]
    )
    await a.get_by_test_id("member-transfer").click()
    await confirm(a, "Hand “Book club” over to Bob Marley?")
    await expect(member_row(a, "Bob Marley").get_by_test_id("member-role")).to_have_text("Owner")
    await expect(member_row(a, "Alice Liddell").get_by_test_id("member-role")).to_have_text("Admin")
    await expect(a.get_by_test_id("members-panel").get_by_test_id("delete-group")).to_be_hidden()
    await expect(b_panel.get_by_test_id("delete-group")).to_be_visible()
    await expect(c.get_by_test_id("system-line").last).to_have_text(
        "Alice Liddell made Bob Marley the owner"
    )


async def test_owner_deletes_the_group_and_a_member_leaves(browsing: Browsing, book_club) -> None:
    alice, bob, carol, group_id = book_club
    dm = (await alice.dm(bob))["id"]
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group_id}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    c = await browsing.open_app(await browsing.signed_in(carol), f"/#/c/{group_id}")
    await expect(sidebar_names(b)).to_have_text(["Alice Liddell", "Book club"])

    # Carol leaves; cancelling first changes nothing.
    c_panel = await open_panel(c)
    await c_panel.get_by_test_id("leave-group").click()
    await expect(c.get_by_test_id("confirm-text")).to_have_text("Leave “Book club”?")
    await c.keyboard.press("Escape")
    await expect(c.get_by_test_id("confirm-dialog")).to_be_hidden()
    await expect(c_panel).to_be_visible()
    await c_panel.get_by_test_id("leave-group").click()
    await confirm(c, "Leave “Book club”?")
    await expect(c_panel).to_be_hidden()
    await expect(c.get_by_test_id("conversation-item")).to_have_count(0)
    await expect(c.get_by_test_id("departed-notice")).to_have_text(
        "You are no longer in “Book club”."
    )
    await expect(a.get_by_test_id("system-line").last).to_have_text("Carol King left")

    # Alice deletes the group: gone from Bob's sidebar (his DM stays open) and from hers.
    a_panel = await open_panel(a)
    await a_panel.get_by_test_id("delete-group").click()
    await confirm(a, "Delete “Book club” for everyone?")
    await expect(sidebar_names(b)).to_have_text(["Alice Liddell"])
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Alice Liddell")
    await expect(sidebar_names(a)).to_have_text(["Bob Marley"])
    await expect(a.get_by_test_id("departed-notice")).to_have_text("“Book club” was deleted.")
    await expect(a).to_have_url(re.compile(r"#/$"))


async def test_admin_adds_a_friend_from_the_panel(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    group_id = (await alice.group("Book club", bob))["id"]
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group_id}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group_id}")
    c = await browsing.open_app(await browsing.signed_in(carol))
    await expect(c.get_by_test_id("conversations-empty")).to_be_visible()

    panel = await open_panel(a)
    await panel.get_by_test_id("add-people-button").click()
    candidates = panel.get_by_test_id("add-candidate")
    await expect(candidates).to_have_count(1)  # her friends not in the group: Carol
    await candidates.get_by_role("button", name="Add Carol King").click()
    await expect(panel.get_by_test_id("member")).to_have_count(3)
    await expect(panel.get_by_test_id("add-people-empty")).to_have_text(
        "All your friends are in this group."
    )
    await expect(b.get_by_test_id("system-line").last).to_have_text(
        "Alice Liddell added Carol King"
    )
    await expect(sidebar_names(c)).to_have_text(["Book club"])
    await expect(c.get_by_test_id("conversation-preview")).to_have_text("Alice Liddell added you")


async def test_group_picture_set_live_and_a_refusal_shown_in_the_panel(
    browsing: Browsing, book_club
) -> None:
    alice, bob, _carol, group_id = book_club
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group_id}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group_id}")
    panel = await open_panel(a)
    picture = panel.get_by_test_id("group-avatar-input")

    # Not an image: the server's 415 shows in the panel; nothing changes.
    await picture.set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture at all"}
    )
    await expect(panel.get_by_test_id("members-error")).to_be_visible()
    await expect(panel.get_by_test_id("members-error")).not_to_be_empty()
    await expect(panel.get_by_test_id("group-avatar-remove")).to_be_hidden()

    # A picture: the panel, Bob's sidebar and header show it; the error goes.
    await picture.set_input_files({"name": "club.png", "mimeType": "image/png", "buffer": png()})
    await expect(panel.get_by_test_id("members-error")).to_be_hidden()
    await expect(panel.get_by_test_id("group-avatar-remove")).to_be_visible()
    sidebar_picture = b.get_by_test_id("conversation-item").locator(".avatar img")
    await expect(sidebar_picture).to_have_attribute("src", re.compile(r"^/api/avatars/"))
    await expect(b.get_by_test_id("conversation-avatar").locator("img")).to_have_count(1)
    await expect(b.get_by_test_id("system-line").last).to_have_text(
        "Alice Liddell changed the group's picture"
    )

    # Removed again: initials.
    await panel.get_by_test_id("group-avatar-remove").click()
    await expect(sidebar_picture).to_have_count(0)
    await expect(panel.get_by_test_id("group-avatar-remove")).to_be_hidden()


def png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 230)).save(buffer, "PNG")
    return buffer.getvalue()

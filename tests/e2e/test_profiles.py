"""Profiles in the browser: a display name and avatar changed in settings show in a friend's
open tab (sidebar, header, timeline, reply quotes) without a reload, and a file that is not a
picture is refused in place; a profile card opens from a sender's name and its "Message" opens
the DM; a stranger's card sends a friend request; the password changed, the data downloaded and
the account deleted from settings, with a wrong password said in place."""

from __future__ import annotations

import json
import re

import anyio
import pytest
from playwright.async_api import Page, expect

from tests.attachments.files import image
from tests.e2e.conftest import Browsing
from tests.support.api import PASSWORD, ApiUser

pytestmark = pytest.mark.e2e

AVATAR_URL = re.compile(r"^/api/avatars/[\w-]+$")


async def loaded_width(page: Page, img) -> int:
    """Wait for an <img> to load; its natural width."""
    handle = await img.element_handle()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    return int(await img.evaluate("img => img.naturalWidth"))


async def open_settings(page: Page):
    await page.get_by_test_id("settings-button").click()
    dialog = page.get_by_test_id("settings-dialog")
    await expect(dialog).to_be_visible()
    return dialog


async def test_name_and_avatar_change_reach_a_friends_open_tab(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    hello = await alice.send(dm, "Hello from Alice")
    await bob.ok(
        "POST",
        f"/api/conversations/{dm}/messages",
        {"content": "Hi!", "reply_to_id": hello["id"]},
        201,
    )
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    await b.evaluate("window.sameDocument = true")
    await expect(b.get_by_test_id("conversation-name")).to_have_text(["Alice Liddell"])
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Alice Liddell")
    await expect(b.locator(".quote-sender")).to_have_text("Alice Liddell")
    alices_message = b.get_by_test_id("message").filter(has_text="Hello from Alice")
    await expect(alices_message.locator(".avatar")).to_have_text("AL")  # initials, no picture

    settings = await open_settings(a)
    name = settings.get_by_label("Display name")
    await expect(name).to_have_value("Alice Liddell")
    await expect(name).to_be_focused()
    await name.fill("Alice Pleasance")
    await settings.get_by_label("Bio").fill("Down the rabbit hole.")
    await settings.get_by_test_id("settings-save-profile").click()
    await expect(settings.get_by_test_id("settings-profile-status")).to_have_text("Saved.")
    # Not a picture: the server's refusal (415) is said in place, nothing changes.
    avatar_input = settings.get_by_test_id("settings-avatar-input")
    await avatar_input.set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"}]
    )
    await expect(settings.get_by_test_id("settings-avatar-error")).not_to_be_empty()
    await expect(settings.get_by_test_id("settings-avatar")).to_have_text("AP")
    await avatar_input.set_input_files(
        files=[{"name": "me.png", "mimeType": "image/png", "buffer": image("PNG", (640, 480))}]
    )
    await expect(settings.get_by_test_id("settings-avatar-error")).to_be_hidden()
    await expect(settings.get_by_test_id("settings-avatar-status")).to_have_text("Picture changed.")
    own = settings.get_by_test_id("settings-avatar").locator("img")
    await expect(own).to_have_attribute("src", AVATAR_URL)
    assert await loaded_width(a, own) == 256  # cropped square and resized by the server
    await expect(a.get_by_test_id("me-name")).to_have_text("Alice Pleasance")
    await expect(a.get_by_test_id("me-avatar").locator("img")).to_have_attribute("src", AVATAR_URL)

    # Bob's open tab follows: sidebar, header, timeline and the quote of his reply.
    await expect(b.get_by_test_id("conversation-name")).to_have_text(["Alice Pleasance"])
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Alice Pleasance")
    await expect(b.locator(".quote-sender")).to_have_text("Alice Pleasance")
    src = await own.get_attribute("src")
    for avatar in (
        b.get_by_test_id("conversation-item").locator(".avatar img"),
        b.get_by_test_id("conversation-avatar").locator("img"),
        alices_message.locator(".avatar img"),
    ):
        await expect(avatar).to_have_attribute("src", src or "")
        assert await loaded_width(b, avatar) == 256
    # Her profile card, from the header's name, says so too, and gives the focus back on Escape.
    header_name = b.get_by_test_id("conversation-title").get_by_role("button")
    await header_name.focus()
    await header_name.press("Enter")
    card = b.get_by_test_id("profile-card")
    await expect(card).to_be_visible()
    await expect(card.get_by_test_id("profile-name")).to_have_text("Alice Pleasance")
    await expect(card.get_by_test_id("profile-bio")).to_have_text("Down the rabbit hole.")
    await b.keyboard.press("Escape")
    await expect(card).to_be_hidden()
    await expect(header_name).to_be_focused()

    # Removing the picture goes back to initials, there and here.
    await settings.get_by_test_id("settings-avatar-remove").click()
    await expect(settings.get_by_test_id("settings-avatar")).to_have_text("AP")
    await expect(alices_message.locator(".avatar")).to_have_text("AP")
    await expect(b.get_by_test_id("conversation-avatar")).to_have_text("AP")
    assert await b.evaluate("window.sameDocument") is True  # no reload happened


async def test_profile_card_from_a_sender_name_messages_them(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    await bob.befriend(carol)
    group = (await alice.group("Band", bob, carol))["id"]
    await carol.send(group, "Rehearsal at six")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group}")

    sender = b.get_by_test_id("message-sender").filter(has_text="Carol King")
    await sender.click()
    card = b.get_by_test_id("profile-card")
    await expect(card).to_be_visible()
    await expect(card.get_by_test_id("profile-name")).to_have_text("Carol King")
    await expect(card.get_by_test_id("profile-username")).to_have_text("@carol")
    await expect(card.get_by_test_id("profile-group")).to_have_text(["Band"])
    # The focus stays in the card: Tab from its last control comes back to its first.
    controls = card.locator("button:not([disabled]), a[href]")
    await controls.last.focus()
    await b.keyboard.press("Tab")
    await expect(controls.first).to_be_focused()
    await card.get_by_test_id("profile-close").click()
    await expect(card).to_be_hidden()
    await expect(sender).to_be_focused()

    # Closed, then at once the focus goes elsewhere (here before the dialog's "close" event,
    # which comes a task later): the card does not take it back to its opener.
    await sender.click()
    await expect(card).to_be_visible()
    await b.evaluate(
        """() => {
          document.querySelector("[data-testid=profile-card]").close();
          document.querySelector("[data-testid=composer-input]").focus();
        }"""
    )
    await b.evaluate("new Promise((done) => setTimeout(done))")  # after the close event's task
    await expect(b.get_by_role("textbox", name="Message")).to_be_focused()

    await sender.click()
    await card.get_by_role("button", name="Message").click()
    await expect(card).to_be_hidden()
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Carol King")
    assert re.search(r"#/c/\d+$", b.url)
    assert not b.url.endswith(f"#/c/{group}")


async def test_profile_card_of_a_stranger_offers_a_friend_request(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    dave = await make_user("dave", "Dave Grohl")
    await alice.befriend(bob)
    await alice.befriend(dave)
    group = (await alice.group("Band", bob, dave))["id"]
    await dave.send(group, "Hi all")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{group}")

    await b.get_by_test_id("message-sender").filter(has_text="Dave Grohl").click()
    card = b.get_by_test_id("profile-card")
    await expect(card.get_by_test_id("profile-message")).to_be_disabled()  # not friends
    await card.get_by_role("button", name="Add friend").click()
    await expect(card.get_by_role("button", name="Request sent")).to_be_disabled()
    # Dave accepts: the card follows live.
    requests = await dave.ok("GET", "/api/friends/requests")
    await dave.ok("POST", f"/api/friends/requests/{requests['incoming'][0]['id']}/accept")
    await expect(card.get_by_test_id("profile-message")).to_be_enabled()
    await expect(card.get_by_role("button", name="Request sent")).to_have_count(0)


async def test_password_change_and_account_deletion_in_settings(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    await alice.send(dm, "Remember me")
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    settings = await open_settings(a)

    # A wrong current password is said in place (and does not sign out).
    await settings.get_by_label("Current password").fill("not my password")
    await settings.get_by_label("New password", exact=True).fill("a brand new secret")
    await settings.get_by_label("New password again").fill("a brand new secret")
    await settings.get_by_test_id("settings-change-password").click()
    await expect(settings.get_by_test_id("settings-password-error")).to_have_text(
        "The current password is wrong."
    )
    await settings.get_by_label("Current password").fill(PASSWORD)
    await settings.get_by_test_id("settings-change-password").click()
    await expect(settings.get_by_test_id("settings-password-status")).to_contain_text(
        "Password changed."
    )
    relogin = ApiUser(str(alice.client.base_url), "alice")
    try:
        response = await relogin.post(
            "/api/auth/login", {"username": "alice", "password": "a brand new secret"}
        )
        assert response.status_code == 200, response.text
    finally:
        await relogin.aclose()

    # Her data, as a JSON download.
    async with a.expect_download() as download_info:
        await settings.get_by_test_id("settings-export").click()
    download = await download_info.value
    assert download.suggested_filename == "tidings-export-alice.json"
    exported = json.loads(await anyio.Path(await download.path()).read_text())
    assert "Remember me" in json.dumps(exported)

    # Deleting: the password is asked for; a wrong one is said in place.
    await settings.get_by_test_id("settings-delete-start").click()
    await settings.get_by_test_id("settings-delete-password").fill("wrong password")
    await settings.get_by_test_id("settings-delete-confirm").click()
    await expect(settings.get_by_test_id("settings-delete-error")).to_be_visible()
    await expect(a).not_to_have_url(re.compile(r"/login"))
    await settings.get_by_test_id("settings-delete-password").fill("a brand new secret")
    await settings.get_by_test_id("settings-delete-confirm").click()
    await expect(a).to_have_url(re.compile(r"/login$"))

    # Bob's open tab: the DM stays, with "Deleted user", and her message with it.
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Deleted user")
    await expect(b.get_by_test_id("conversation-name")).to_have_text(["Deleted user"])
    await expect(b.get_by_test_id("message-text")).to_have_text(["Remember me"])
    await expect(b.get_by_test_id("conversation-avatar")).to_have_text("?")
    await expect(b.get_by_test_id("composer")).to_be_hidden()  # nobody to send to

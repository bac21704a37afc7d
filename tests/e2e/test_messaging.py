"""Messages: a DM seen live with badges and re-ordered sidebars, a group of three, history on
scroll-up, and user content shown as text."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e


def sidebar_names(page: Page):
    return page.get_by_test_id("conversation-name")


def last_message(page: Page):
    return page.get_by_test_id("message-text").last


async def test_direct_message_live_with_badge_and_reordered_sidebars(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    await bob.befriend(carol)
    dm_ab = (await alice.dm(bob))["id"]
    await alice.send(dm_ab, "Hi Bob")
    dm_ac = (await alice.dm(carol))["id"]
    await carol.send(dm_ac, "Lunch tomorrow?")
    dm_bc = (await bob.dm(carol))["id"]
    await carol.send(dm_bc, "Hey Bob")
    await bob.ok("POST", f"/api/conversations/{dm_bc}/read")
    await bob.ok("POST", "/api/notifications/read-all")  # friend requests, accepted

    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm_ab}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm_ab}")
    await expect(sidebar_names(a)).to_have_text(["Carol King", "Bob Marley"])
    await expect(sidebar_names(b)).to_have_text(["Carol King", "Alice Liddell"])
    await expect(last_message(b)).to_have_text("Hi Bob")
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()  # opening it marked it read
    await expect(b).to_have_title("Tidings")

    # The composer: disabled while empty, Shift+Enter for a new line, Enter sends.
    composer = a.get_by_role("textbox", name="Message")
    send = a.get_by_role("button", name="Send")
    await expect(send).to_be_disabled()
    await composer.fill("   ")
    await composer.press("Space")
    await expect(send).to_be_disabled()
    await composer.fill("Are you free tonight?")
    await expect(send).to_be_enabled()
    await composer.press("Shift+Enter")
    await composer.press_sequentially("Dinner at 8?")
    await composer.press("Enter")
    await expect(last_message(a)).to_have_text("Are you free tonight?\nDinner at 8?")
    await expect(composer).to_have_value("")
    await expect(send).to_be_disabled()

    # Bob's open conversation shows it, without a reload; his bell counts it.
    await expect(last_message(b)).to_have_text("Are you free tonight?\nDinner at 8?")
    await expect(b.get_by_test_id("bell-badge")).to_have_text("1")
    await expect(b).to_have_title("(1) Tidings")
    # Both sidebars put the conversation on top, with the preview.
    await expect(sidebar_names(a)).to_have_text(["Bob Marley", "Carol King"])
    await expect(sidebar_names(b)).to_have_text(["Alice Liddell", "Carol King"])
    top_a = a.get_by_test_id("conversation-item").first
    top_b = b.get_by_test_id("conversation-item").first
    await expect(top_a.get_by_test_id("conversation-preview")).to_have_text(
        "You: Are you free tonight? Dinner at 8?"
    )
    await expect(top_b.get_by_test_id("conversation-preview")).to_have_text(
        "Are you free tonight? Dinner at 8?"
    )
    await expect(top_b.get_by_test_id("unread-badge")).to_have_text("1")

    # Bob reads (does something in the conversation) and answers.
    await b.get_by_test_id("message-list").click()
    await expect(top_b.get_by_test_id("unread-badge")).to_be_hidden()
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()
    await b.get_by_role("textbox", name="Message").fill("Sure!")
    await b.get_by_role("textbox", name="Message").press("Enter")
    await expect(last_message(b)).to_have_text("Sure!")
    await expect(last_message(a)).to_have_text("Sure!")
    await expect(top_a.get_by_test_id("conversation-preview")).to_have_text("Sure!")

    # Carol writes to Bob: his sidebar re-orders again, live.
    await carol.send(dm_bc, "Did you see the game?")
    await expect(sidebar_names(b)).to_have_text(["Carol King", "Alice Liddell"])
    await expect(
        b.get_by_test_id("conversation-item").first.get_by_test_id("unread-badge")
    ).to_have_text("1")


async def test_group_of_three(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    for user in (bob, carol):
        await user.ok("POST", "/api/notifications/read-all")  # their friend requests
    a = await browsing.open_app(await browsing.signed_in(alice))
    b = await browsing.open_app(await browsing.signed_in(bob))
    c = await browsing.open_app(await browsing.signed_in(carol))

    await a.get_by_role("button", name="New chat").click()
    dialog = a.get_by_role("dialog", name="New chat")
    await dialog.get_by_label("Group name").fill("Book club")
    await dialog.get_by_role("checkbox", name="Bob Marley").check()
    await dialog.get_by_role("checkbox", name="Carol King").check()
    await dialog.get_by_role("button", name="Create group").click()
    await expect(dialog).to_be_hidden()
    await expect(a.get_by_test_id("conversation-title")).to_have_text("Book club")
    await expect(a.get_by_test_id("conversation-members")).to_have_text(
        "You, Bob Marley, Carol King"
    )

    for page in (b, c):
        await expect(sidebar_names(page)).to_have_text(["Book club"])
        await expect(page.get_by_test_id("bell-badge")).to_have_text("1")
        await page.get_by_test_id("bell-button").click()
        added = page.get_by_test_id("notification-item").first
        await expect(added).to_contain_text("Alice Liddell added you to Book club")
        await added.get_by_test_id("notification-open").click()
        await expect(page.get_by_test_id("conversation-title")).to_have_text("Book club")
        await expect(page.get_by_test_id("bell-badge")).to_be_hidden()

    await a.get_by_role("textbox", name="Message").fill("First book: Dune?")
    await a.get_by_role("button", name="Send").click()
    await expect(last_message(b)).to_have_text("First book: Dune?")
    await expect(last_message(c)).to_have_text("First book: Dune?")
    await expect(b.get_by_test_id("message").last).to_contain_text("Alice Liddell")

    await c.get_by_role("textbox", name="Message").fill("Yes! I have a copy.")
    await c.get_by_role("textbox", name="Message").press("Enter")
    for page in (a, b):
        await expect(last_message(page)).to_have_text("Yes! I have a copy.")
        await expect(page.get_by_test_id("conversation-preview").first).to_have_text(
            "Carol King: Yes! I have a copy."
        )


async def test_older_history_loads_on_scrolling_up(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    for n in range(1, 101):
        await alice.send(dm, f"Message number {n}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    await expect(last_message(b)).to_have_text("Message number 100")
    first = b.get_by_test_id("message-text").filter(has_text="Message number 1").first
    await expect(b.get_by_text("Message number 1", exact=True)).to_have_count(0)

    history = b.get_by_test_id("message-list")
    status = b.get_by_test_id("history-status")
    await expect(status).to_have_text("Scroll up for earlier messages")
    await history.hover()
    for _ in range(6):  # each scroll to the top loads a page
        await b.mouse.wheel(0, -100_000)
        await expect(status).not_to_contain_text("Loading")
        if await b.get_by_text("Message number 1", exact=True).count():
            break
    await expect(b.get_by_text("Message number 1", exact=True)).to_be_visible()
    await expect(b.get_by_test_id("history-status")).to_have_text(
        "This is the beginning of the conversation."
    )
    await expect(b.get_by_test_id("message")).to_have_count(100)
    await expect(first).to_be_visible()


async def test_markup_in_messages_is_shown_as_text(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")

    script = "<script>window.pwned = 'script'</script>"
    image = '<img src="/nowhere.png" onerror="window.pwned = \'img\'">'
    for text in (script, image):
        await a.get_by_role("textbox", name="Message").fill(text)
        await a.get_by_role("textbox", name="Message").press("Enter")
        await expect(last_message(a)).to_have_text(text)
        await expect(last_message(b)).to_have_text(text)
    await expect(b.get_by_test_id("conversation-preview").first).to_have_text(image)
    for page in (a, b):
        await expect(page.get_by_test_id("message-list").locator("img, script")).to_have_count(0)
        assert await page.evaluate("window.pwned") is None

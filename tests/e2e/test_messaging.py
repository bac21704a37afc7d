"""Messages: a DM seen live with badges and re-ordered sidebars, a group of three, new messages
in the bell, a member added to (and removed from) a group, history on scroll-up, user content
shown as text, and identical messages sent quickly each settled once."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, Route, expect

from tests.e2e.conftest import Browsing, expect_live

pytestmark = pytest.mark.e2e


def sidebar_names(page: Page):
    return page.get_by_test_id("conversation-name")


def last_message(page: Page):
    return page.get_by_test_id("message-text").last


def sidebar_item(page: Page, name: str):
    """The sidebar entry of the conversation called ``name`` (not one that mentions it)."""
    title = page.get_by_test_id("conversation-name").filter(
        has_text=re.compile(rf"^{re.escape(name)}$")
    )
    return page.get_by_test_id("conversation-item").filter(has=title)


def bell_entries(page: Page):
    return page.get_by_test_id("notification-item")


def new_message_entries(page: Page):
    """The bell's entries for conversations with new messages (derived, not stored)."""
    return page.locator("[data-testid=notification-item][data-type=messages]")


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
    # Alice's preview came from her own message's event: the message shows once, not as new.
    await expect(a.get_by_test_id("message-text")).to_have_text(
        ["Hi Bob", "Are you free tonight?\nDinner at 8?"]
    )
    await expect(top_a.get_by_test_id("unread-badge")).to_be_hidden()

    # Bob reads (does something in the conversation) and answers.
    await b.get_by_test_id("message-list").click()
    await expect(top_b.get_by_test_id("unread-badge")).to_be_hidden()
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()
    await b.get_by_role("textbox", name="Message").fill("Sure!")
    await b.get_by_role("textbox", name="Message").press("Enter")
    await expect(last_message(b)).to_have_text("Sure!")
    await expect(last_message(a)).to_have_text("Sure!")
    await expect(top_a.get_by_test_id("conversation-preview")).to_have_text("Sure!")

    # Carol writes to Bob: his sidebar re-orders again, live, and his bell counts it.
    await carol.send(dm_bc, "Did you see the game?")
    await expect(sidebar_names(b)).to_have_text(["Carol King", "Alice Liddell"])
    await expect(
        b.get_by_test_id("conversation-item").first.get_by_test_id("unread-badge")
    ).to_have_text("1")
    await expect(b.get_by_test_id("bell-badge")).to_have_text("1")


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

    # Bob has not touched the page since: two new messages, one conversation in his bell.
    await expect(sidebar_item(b, "Book club").get_by_test_id("unread-badge")).to_have_text("2")
    await expect(b.get_by_test_id("bell-badge")).to_have_text("1")
    await b.get_by_test_id("bell-button").click()
    entry = bell_entries(b).first
    await expect(entry).to_contain_text("Carol King: 2 new messages in Book club")
    # The conversation is open already: the entry marks it read all the same.
    await entry.get_by_test_id("notification-open").click()
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()
    await expect(sidebar_item(b, "Book club").get_by_test_id("unread-badge")).to_be_hidden()
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Book club")


async def test_new_messages_in_the_bell_one_entry_per_conversation(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    dm = (await alice.dm(bob))["id"]
    group = await alice.group("Book club", bob, carol)
    await bob.ok("POST", "/api/notifications/read-all")  # friend request, added to the group
    context = await browsing.signed_in(bob)
    b = await browsing.open_app(context)
    other_tab = await browsing.open_app(context)
    await expect(b.get_by_test_id("bell-badge")).to_be_hidden()

    # Three messages in the group: three unread in the sidebar, one entry in the bell.
    await alice.send(group["id"], "Who has read Dune?")
    await carol.send(group["id"], "Me!")
    await alice.send(group["id"], "Next month then.")
    for page in (b, other_tab):
        await expect(sidebar_item(page, "Book club").get_by_test_id("unread-badge")).to_have_text(
            "3"
        )
        await expect(page.get_by_test_id("bell-badge")).to_have_text("1")
        await expect(page).to_have_title("(1) Tidings")
    await alice.send(dm, "Psst")
    for page in (b, other_tab):
        await expect(
            sidebar_item(page, "Alice Liddell").get_by_test_id("unread-badge")
        ).to_have_text("1")
        await expect(page.get_by_test_id("bell-badge")).to_have_text("2")

    # Newest conversation first, above the stored (read) notifications; "Mark all read" is for
    # those, and they are read.
    await b.get_by_test_id("bell-button").click()
    await expect(bell_entries(b)).to_have_count(4)
    await expect(bell_entries(b).nth(0)).to_contain_text("Alice Liddell sent you a message")
    await expect(bell_entries(b).nth(1)).to_contain_text(
        "Alice Liddell: 3 new messages in Book club"
    )
    await expect(bell_entries(b).nth(2)).to_contain_text("Alice Liddell added you to Book club")
    await expect(b.get_by_role("button", name="Mark all read")).to_be_hidden()

    # The group's entry opens the group, which reads it: gone from both tabs' bells.
    await bell_entries(b).nth(1).get_by_test_id("notification-open").click()
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Book club")
    await expect(last_message(b)).to_have_text("Next month then.")
    for page in (b, other_tab):
        await expect(page.get_by_test_id("bell-badge")).to_have_text("1")
        await expect(page).to_have_title("(1) Tidings")
        await expect(sidebar_item(page, "Book club").get_by_test_id("unread-badge")).to_be_hidden()

    # The DM's entry marked read from the other tab's bell, without opening it.
    await other_tab.get_by_test_id("bell-button").click()
    dm_entry = bell_entries(other_tab).filter(has_text="sent you a message")
    await dm_entry.get_by_test_id("notification-mark-read").click()
    for page in (b, other_tab):
        await expect(page.get_by_test_id("bell-badge")).to_be_hidden()
        await expect(page).to_have_title("Tidings")
        await expect(
            sidebar_item(page, "Alice Liddell").get_by_test_id("unread-badge")
        ).to_be_hidden()
    await expect(new_message_entries(other_tab)).to_have_count(0)
    await expect(b.get_by_test_id("conversation-title")).to_have_text("Book club")


async def test_a_new_member_sees_earlier_history_as_read(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    await alice.befriend(bob)
    await alice.befriend(carol)
    group = await alice.group("Book club", bob)
    group_id = group["id"]
    await alice.send(group_id, "Before Carol came")
    await alice.send(group_id, "Still before")
    dm = (await alice.dm(bob))["id"]
    await alice.send(dm, "Shall we ask Carol?")
    for user in (bob, carol):
        await user.ok("POST", "/api/notifications/read-all")
    b = await browsing.open_app(await browsing.signed_in(bob))
    c = await browsing.open_app(await browsing.signed_in(carol))
    await expect(sidebar_names(b)).to_have_text(["Alice Liddell", "Book club"])
    await expect(sidebar_item(b, "Book club").get_by_test_id("unread-badge")).to_have_text("2")
    await expect(c.get_by_test_id("conversations-empty")).to_be_visible()

    await alice.ok("POST", f"/api/conversations/{group_id}/members", {"user_id": carol.id}, 201)

    # Carol: the group, nothing unread in it (its last message is the system line saying she
    # was added); the bell has only her being added.
    await expect(sidebar_names(c)).to_have_text(["Book club"])
    await expect(c.get_by_test_id("conversation-preview")).to_have_text("Alice Liddell added you")
    await expect(c.get_by_test_id("unread-badge")).to_be_hidden()
    await expect(c.get_by_test_id("bell-badge")).to_have_text("1")
    await c.get_by_test_id("bell-button").click()
    await expect(bell_entries(c).first).to_contain_text("Alice Liddell added you to Book club")
    await expect(new_message_entries(c)).to_have_count(0)
    await c.keyboard.press("Escape")
    # ...and the same from a fresh snapshot.
    await c.reload()
    await expect_live(c)
    await expect(c.get_by_test_id("unread-badge")).to_be_hidden()
    await expect(c.get_by_test_id("bell-badge")).to_have_text("1")

    # Bob: the group moves up (its membership changed); his unread count stays as it was.
    await expect(sidebar_names(b)).to_have_text(["Book club", "Alice Liddell"])
    await expect(sidebar_item(b, "Book club").get_by_test_id("unread-badge")).to_have_text("2")

    # What is sent after she joined is new to her.
    await alice.send(group_id, "Welcome, Carol!")
    await expect(c.get_by_test_id("unread-badge")).to_have_text("1")
    await expect(c.get_by_test_id("bell-badge")).to_have_text("2")
    await expect(sidebar_item(b, "Book club").get_by_test_id("unread-badge")).to_have_text("3")

    # Removed from the group: it leaves her sidebar and her bell.
    await alice.ok("DELETE", f"/api/conversations/{group_id}/members/{carol.id}", status=204)
    await expect(c.get_by_test_id("conversation-item")).to_have_count(0)
    await expect(c.get_by_test_id("bell-badge")).to_have_text("1")


async def test_older_history_loads_on_scrolling_up(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    for n in range(1, 101):
        await alice.send(dm, f"Message number {n}")
    await bob.ok("POST", f"/api/conversations/{dm}/read")  # else it opens at the first unread
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


async def test_two_identical_messages_sent_quickly_each_settle_once(
    browsing: Browsing, alice_bob_dm
) -> None:
    """A send is matched to its message by the client id it carries, not by its text: of two
    "ok" sent at once, the first's message does not settle the second, still on its way. (The
    first is held, then fails without an answer: it waits in the outbox and goes again by itself
    under the same id; the second waits its turn behind it, so the two arrive in order.)"""
    alice, bob, dm = alice_bob_dm
    await alice.ok("POST", "/api/notifications/read-all")  # Bob accepted her request
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    composer = a.get_by_role("textbox", name="Message")
    sent: list[dict[str, str]] = []
    fail_the_first, let_the_second_go = asyncio.Event(), asyncio.Event()

    async def hold_then_fail_the_first(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        body = route.request.post_data_json
        assert body is not None
        sent.append(body)
        if len(sent) == 1:
            await fail_the_first.wait()
            await route.abort("connectionreset")  # it never reached the server
        elif len(sent) == 3:
            await let_the_second_go.wait()
            await route.continue_()
        else:
            await route.continue_()

    await a.route("**/api/conversations/*/messages", hold_then_fail_the_first)
    for text in ("ok", "ok"):
        await composer.fill(text)
        await composer.press("Enter")
    await expect(a.locator("[data-pending]")).to_have_count(2)

    # The first is sent again and stored (Bob has it) and settled; the second is still pending.
    fail_the_first.set()
    await expect(b.get_by_test_id("message-text")).to_have_text(["ok"])
    await expect(a.get_by_test_id("conversation-preview")).to_have_text("You: ok")
    await expect(a.get_by_test_id("message-text")).to_have_text(["ok", "ok"])
    await expect(a.locator("[data-pending]")).to_have_count(1)
    await expect(a.locator("[data-pending]")).to_contain_text("Sending…")

    let_the_second_go.set()
    await expect(b.get_by_test_id("message-text")).to_have_text(["ok", "ok"])
    await expect(a.get_by_test_id("message-text")).to_have_text(["ok", "ok"])
    await expect(a.locator("[data-pending]")).to_have_count(0)
    await expect(a.locator(".msg.failed")).to_have_count(0)
    assert [body["content"] for body in sent] == ["ok", "ok", "ok"]
    first, retry, second = (body["client_id"] for body in sent)
    assert first == retry != second
    await a.unroute("**/api/conversations/*/messages", hold_then_fail_the_first)

    # The server stored exactly two.
    await a.reload()
    await expect_live(a)
    await expect(a.get_by_test_id("message-text")).to_have_text(["ok", "ok"])
    await expect(a.locator("[data-pending]")).to_have_count(0)

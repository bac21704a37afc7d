"""Many tabs of one person: one stream per browser, relayed by a leader tab; badges agree across
tabs; a message sent in one tab shows once in every tab; an idle page makes no requests."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Page, Request, Route, expect

from tests.e2e.conftest import Browsing
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e


async def first_leader(pages: list[Page]) -> Page:
    """The tab that takes the lead (whichever page shows it first)."""
    waits = {
        asyncio.ensure_future(
            page.wait_for_selector("[data-testid=connection-status][data-role=leader]")
        ): page
        for page in pages
    }
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return waits[done.pop()]


async def roles(pages: list[Page]) -> list[str | None]:
    return [
        await page.get_by_test_id("connection-status").get_attribute("data-role") for page in pages
    ]


async def test_marking_read_in_one_tab_clears_the_badge_in_the_other(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    dan = await make_user("dan", "Dan Brown")
    await alice.befriend(bob)
    await bob.ok("POST", "/api/notifications/read-all")
    dm = (await alice.dm(bob))["id"]
    context = await browsing.signed_in(bob)
    tab1 = await browsing.open_app(context)
    tab2 = await browsing.open_app(context)

    # New messages: the conversation's unread badge counts them, the bell the conversation.
    await alice.send(dm, "Ping")
    for tab in (tab1, tab2):
        await expect(tab.get_by_test_id("bell-badge")).to_have_text("1")
        await expect(tab.get_by_test_id("unread-badge")).to_have_text("1")
        await expect(tab).to_have_title("(1) Tidings")
    await alice.send(dm, "Pong")
    for tab in (tab1, tab2):
        await expect(tab.get_by_test_id("unread-badge")).to_have_text("2")
        await expect(tab.get_by_test_id("bell-badge")).to_have_text("1")
    await carol.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    for tab in (tab1, tab2):
        await expect(tab.get_by_test_id("bell-badge")).to_have_text("2")
        await expect(tab).to_have_title("(2) Tidings")

    # Mark all read from the bell in one tab: the friend request is read in the other tab too;
    # the conversation stays unread until it is opened.
    await tab1.get_by_test_id("bell-button").click()
    await tab1.get_by_role("button", name="Mark all read").click()
    for tab in (tab1, tab2):
        await expect(tab.get_by_test_id("bell-badge")).to_have_text("1")
        await expect(tab).to_have_title("(1) Tidings")
        await expect(tab.get_by_test_id("unread-badge")).to_have_text("2")
    await tab2.get_by_test_id("bell-button").click()
    request = tab2.get_by_test_id("notification-item").filter(has_text="Carol King")
    await expect(request).to_contain_text("wants to be your friend")
    await expect(request.get_by_test_id("notification-mark-read")).to_have_count(0)
    await expect(tab2.get_by_role("button", name="Mark all read")).to_be_hidden()

    # One notification marked read in tab 2 clears it in tab 1.
    await dan.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    await expect(tab1.get_by_test_id("bell-badge")).to_have_text("2")
    await expect(tab2.get_by_test_id("bell-badge")).to_have_text("2")
    dans = tab2.get_by_test_id("notification-item").filter(has_text="Dan Brown")
    await dans.get_by_test_id("notification-mark-read").click()
    await expect(tab1.get_by_test_id("bell-badge")).to_have_text("1")
    await expect(tab2.get_by_test_id("bell-badge")).to_have_text("1")

    # Opening the conversation in tab 1 clears its unread badge, and the bell, in tab 2.
    await tab1.keyboard.press("Escape")  # closes the notification panel
    await expect(tab1.get_by_test_id("notification-panel")).to_be_hidden()
    await tab1.get_by_test_id("conversation-item").first.click()
    await expect(tab1.get_by_test_id("message-text").last).to_have_text("Pong")
    for tab in (tab1, tab2):
        await expect(tab.get_by_test_id("unread-badge")).to_be_hidden()
        await expect(tab.get_by_test_id("bell-badge")).to_be_hidden()
        await expect(tab).to_have_title("Tidings")

    # Signing out in one tab signs out the other.
    await tab1.get_by_role("button", name="Sign out", exact=True).click()
    await expect(tab1).to_have_url(re.compile(r"/login$"))
    await expect(tab2).to_have_url(re.compile(r"/login$"))


async def test_a_message_sent_in_one_tab_shows_once_in_every_tab(
    browsing: Browsing, alice_bob_dm
) -> None:
    """The sender's tabs get its own `message` event: the sending tab's pending copy and the
    event make one message, whichever of the POST answer and the event comes first."""
    alice, bob, dm = alice_bob_dm
    await alice.ok("POST", "/api/notifications/read-all")  # Bob accepted her request
    context = await browsing.signed_in(alice)
    sender = await browsing.open_app(context, f"/#/c/{dm}")
    other = await browsing.open_app(context, f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    composer = sender.get_by_role("textbox", name="Message")

    async def shown_once(texts: list[str]) -> None:
        # Each tab's sidebar preview comes from the last message's event: once it shows, the
        # events are in, and each message must show exactly once, none still pending.
        for tab in (sender, other):
            await expect(tab.get_by_test_id("conversation-preview")).to_have_text(
                f"You: {texts[-1]}"
            )
            await expect(tab.get_by_test_id("message-text")).to_have_text(texts)
            await expect(tab.locator("[data-pending]")).to_have_count(0)
            await expect(tab.get_by_test_id("unread-badge")).to_be_hidden()
            await expect(tab.get_by_test_id("bell-badge")).to_be_hidden()
        await expect(b.get_by_test_id("message-text")).to_have_text(texts)

    # In the usual order of things (whichever comes first), twice the same text.
    for text in ("ok", "ok"):
        await composer.fill(text)
        await composer.press("Enter")
    await shown_once(["ok", "ok"])

    # The event before the POST answer: the answer is held until the other tab has the message.
    release = asyncio.Event()

    async def hold_the_answer(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        response = await route.fetch()
        await release.wait()
        await route.fulfill(response=response)

    await sender.route("**/api/conversations/*/messages", hold_the_answer)
    async with sender.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/messages")
    ) as answer:
        await composer.fill("Held up")
        await composer.press("Enter")
        await expect(other.get_by_test_id("message-text").last).to_have_text("Held up")
        await shown_once(["ok", "ok", "Held up"])  # the event replaced the pending copy
        release.set()
    assert (await answer.value).status == 201
    await sender.unroute("**/api/conversations/*/messages", hold_the_answer)
    await shown_once(["ok", "ok", "Held up"])  # the answer found it in place
    await composer.fill("And after")
    await composer.press("Enter")
    await shown_once(["ok", "ok", "Held up", "And after"])


async def test_eight_tabs_share_one_stream_and_outlive_their_leader(
    browsing: Browsing, alice_bob_dm, server: LiveServer
) -> None:
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(bob)
    tabs = [await browsing.open_app(context, f"/#/c/{dm}") for _ in range(8)]

    # One tab leads and holds the only stream; seven follow (six would be the browser's limit).
    assert sorted(await roles(tabs)) == ["follower"] * 7 + ["leader"]
    assert server.ctx.hub.subscriber_count() == 1

    await alice.send(dm, "Hello, all eight of you")
    for tab in tabs:
        await expect(tab.get_by_test_id("message-text").last).to_have_text(
            "Hello, all eight of you"
        )

    leader = tabs[(await roles(tabs)).index("leader")]
    await leader.close()
    tabs.remove(leader)
    # Sent while the lead changes hands: the new leader resumes from the last event id.
    await alice.send(dm, "During the hand-over")
    for tab in tabs:
        await expect(tab.get_by_test_id("connection-status")).to_have_attribute(
            "data-state", "connected"
        )

    await first_leader(tabs)
    await asyncio.wait_for(server.ctx.hub.wait_subscriber_count(1), 10)

    await alice.send(dm, "Still here?")
    for tab in tabs:
        await expect(tab.get_by_test_id("message-text").last).to_have_text("Still here?")
        await expect(tab.get_by_test_id("message-text")).to_have_text(
            ["Hello, all eight of you", "During the hand-over", "Still here?"]
        )
    assert sorted(await roles(tabs)) == ["follower"] * 6 + ["leader"]
    assert server.ctx.hub.subscriber_count() == 1


async def test_an_idle_page_makes_no_requests_but_its_one_stream(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    await alice.send(dm, "Hi")
    context = await browsing.signed_in(bob)
    requests: list[Request] = []
    context.on("request", lambda request: requests.append(request))

    first = await browsing.open_app(context, f"/#/c/{dm}")
    await expect(first.get_by_test_id("message-text")).to_have_text(["Hi"])
    second = await browsing.open_app(context, "/#/friends")

    streams = [r.url for r in requests if "/api/events" in r.url]
    assert len(streams) == 1, streams  # the second tab listens through the first

    requests.clear()
    # The one fixed wait of the suite: watching idle pages means letting time pass.
    await first.wait_for_timeout(3000)
    assert [r.url for r in requests] == []

    # ...and the stream is still live for both.
    await alice.send(dm, "Still there?")
    await expect(first.get_by_test_id("message-text").last).to_have_text("Still there?")
    # The bell: Alice's friend request, and the conversation with a new message.
    await expect(second.get_by_test_id("bell-badge")).to_have_text("2")
    assert not [r.url for r in requests if "/api/events" in r.url]


async def test_without_web_locks_every_tab_holds_its_own_stream(
    browsing: Browsing, alice_bob_dm, server: LiveServer
) -> None:
    """Web Locks exist only in secure contexts (https, localhost): elsewhere tabs stand alone."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(bob)
    await context.add_init_script("delete Navigator.prototype.locks")
    tabs = [await browsing.open_app(context, f"/#/c/{dm}") for _ in range(2)]
    assert await roles(tabs) == ["solo", "solo"]
    assert server.ctx.hub.subscriber_count() == 2

    await alice.send(dm, "Hello, both of you")
    for tab in tabs:
        await expect(tab.get_by_test_id("message-text")).to_have_text(["Hello, both of you"])


async def test_signing_out_in_one_tab_leaves_no_copy_of_the_sidebar_from_another(
    browsing: Browsing, alice_bob_dm
) -> None:
    """The tab signing out forgets the copy of the sidebar kept for opening offline; the other
    tab, sent to sign in by it, does not save the copy again as it leaves."""
    alice, _bob, _dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    tab1 = await browsing.open_app(context)
    tab2 = await browsing.open_app(context)
    copy = f"tidings:offline:{alice.id}"
    assert await tab2.evaluate("(key) => localStorage.getItem(key) !== null", copy)

    await tab1.get_by_role("button", name="Sign out", exact=True).click()
    for tab in (tab1, tab2):
        await expect(tab).to_have_url(re.compile(r"/login$"))
    assert await tab2.evaluate("(key) => localStorage.getItem(key)", copy) is None

"""Offline: the app opens with the network down (the service worker's copy of the shell and of
the page), says so, keeps what is written in the outbox, and sends it once when the network is
back; a send whose answer was lost is sent again and stored once."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Route, expect

from tests.e2e.conftest import Browsing, expect_live
from tests.e2e.test_accessibility import Audit
from tests.support.api import PASSWORD

pytestmark = pytest.mark.e2e


async def history(user, conversation_id: int) -> list[str]:
    answer = await user.ok("GET", f"/api/conversations/{conversation_id}/messages")
    return [m["content"] for m in answer["messages"]]


async def no_axe_violations(page: Page, view: str) -> None:
    """The states only this file reaches (offline, waiting, refused) pass axe-core too."""
    audit = Audit(page, "desktop, light")
    await audit.check(view)
    assert not audit.found, audit.report()


async def ready_offline(page: Page) -> None:
    """The service worker keeps the shell and this page."""
    await expect(page.locator("body")).to_have_attribute("data-offline-ready", "true")


class HoldTheFirstSend:
    """Routes a page's (or a context's) sends: the first POST is held until the test lets it go
    (``first``: its route), the others go through; ``posted`` lists their texts in order."""

    PATTERN = "**/api/conversations/*/messages"

    def __init__(self) -> None:
        self.first: asyncio.Future[Route] = asyncio.get_running_loop().create_future()
        self.posted: list[str] = []

    async def __call__(self, route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        self.posted.append(route.request.post_data_json["content"])
        if not self.first.done():
            self.first.set_result(route)
        else:
            await route.continue_()


async def test_written_offline_after_a_reload_sent_once_when_back(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    await bob.send(dm, "Before")
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context, f"/#/c/{dm}")
    await expect(page.get_by_test_id("message-text")).to_have_text(["Before"])
    await ready_offline(page)

    # Offline, the page reloads: the worker serves it, with its scripts, and says it is offline.
    await context.set_offline(True)
    response = await page.reload()
    assert response is not None and response.from_service_worker
    await expect(page.get_by_test_id("connection-status")).to_have_attribute(
        "data-state", "offline"
    )
    await expect(page.get_by_test_id("offline-banner")).to_have_text(
        "You're offline. Messages will be sent when you're back online."
    )
    await expect(page.get_by_test_id("conversation-title")).to_have_text("Bob Marley")
    await expect(page.get_by_test_id("conversation-name")).to_have_text(["Bob Marley"])
    # Whether Bob is online, an offline page cannot know.
    presence = page.get_by_test_id("conversation-presence")
    await expect(presence).to_have_text("Status unknown while you're offline")

    # Two messages written: they wait.
    composer = page.get_by_role("textbox", name="Message")
    for text in ("Written offline", "And another"):
        await composer.fill(text)
        await composer.press("Enter")
    waiting = page.locator(".msg[data-pending]")
    await expect(waiting.get_by_test_id("message-text")).to_have_text(
        ["Written offline", "And another"]
    )
    await expect(waiting.get_by_test_id("message-state")).to_have_text(["Waiting to send"] * 2)
    await no_axe_violations(page, "offline, two messages waiting")

    # Meanwhile Bob writes; then the network is back.
    await bob.send(dm, "Meanwhile")
    await context.set_offline(False)
    await expect_live(page)
    texts = ["Before", "Meanwhile", "Written offline", "And another"]
    await expect(page.get_by_test_id("message-text")).to_have_text(texts)
    await expect(page.locator("[data-pending]")).to_have_count(0)
    await expect(page.get_by_test_id("message-state")).to_have_count(0)
    await expect(page.get_by_test_id("offline-banner")).to_be_hidden()
    await expect(presence).to_have_attribute("data-status", "offline")
    assert await history(alice, dm) == texts

    # And they stay sent once after a reload (the outbox is empty).
    await page.reload()
    await expect_live(page)
    await expect(page.get_by_test_id("message-text")).to_have_text(texts)
    await expect(page.locator("[data-pending]")).to_have_count(0)
    assert await history(bob, dm) == texts


async def test_a_send_whose_answer_was_lost_is_sent_again_and_stored_once(
    browsing: Browsing, alice_bob_dm
) -> None:
    """The server stores the message but the page never hears its answer: the message waits,
    goes again under the same client id, and the server answers with the one it has."""
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await ready_offline(page)
    posts: list[dict[str, str]] = []
    answered, resent = asyncio.Event(), asyncio.Event()

    async def lose_the_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            await route.continue_()
            return
        body = route.request.post_data_json
        posts.append(body)
        if len(posts) == 1:
            response = await route.fetch()  # the server has it...
            assert response.status == 201
            answered.set()
            await route.abort("connectionreset")  # ...the page never knows
        else:
            await route.continue_()
            resent.set()

    await page.route("**/api/conversations/*/messages", lose_the_first_answer)
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Did you get this?")
    await composer.press("Enter")
    await answered.wait()

    async with asyncio.timeout(10):
        await resent.wait()  # sent again, under the same client id
    assert posts[0] == posts[1]
    await expect(page.get_by_test_id("message-text")).to_have_text(["Did you get this?"])
    await expect(page.locator("[data-pending]")).to_have_count(0)
    await page.unroute("**/api/conversations/*/messages", lose_the_first_answer)
    assert await history(bob, dm) == ["Did you get this?"]

    await page.reload()
    await expect_live(page)
    await expect(page.get_by_test_id("message-text")).to_have_text(["Did you get this?"])
    await expect(page.locator("[data-pending]")).to_have_count(0)
    assert len(posts) == 2


async def test_tabs_share_the_outbox_and_one_of_them_sends_it(
    browsing: Browsing, alice_bob_dm
) -> None:
    """Written offline in one tab, shown waiting in both; back online, each message is posted
    once (one tab sends, holding the outbox's lock), and both tabs show it sent."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    first = await browsing.open_app(context, f"/#/c/{dm}")
    second = await browsing.open_app(context, f"/#/c/{dm}")
    posts: list[str] = []
    context.on(
        "request",
        lambda r: (
            posts.append(r.post_data or "")
            if r.method == "POST" and r.url.endswith(f"/api/conversations/{dm}/messages")
            else None
        ),
    )

    await context.set_offline(True)
    for page in (first, second):
        await expect(page.get_by_test_id("offline-banner")).to_be_visible()
    composer = first.get_by_role("textbox", name="Message")
    for text in ("One", "Two"):
        await composer.fill(text)
        await composer.press("Enter")
    for page in (first, second):
        await expect(page.get_by_test_id("message-state")).to_have_text(["Waiting to send"] * 2)
    assert posts == []

    await context.set_offline(False)
    for page in (first, second):
        await expect(page.get_by_test_id("message-text")).to_have_text(["One", "Two"])
        await expect(page.locator("[data-pending]")).to_have_count(0)
        await expect(page.get_by_test_id("offline-banner")).to_be_hidden()
    assert await history(bob, dm) == ["One", "Two"]
    assert len(posts) == 2, posts


async def test_a_send_cut_off_by_closing_its_tab_is_sent_by_another_tab(
    browsing: Browsing, alice_bob_dm
) -> None:
    """A tab closed mid-send leaves its message "sending" in the shared outbox; the other tab,
    waiting for that send's lock, sends it once the lock is free, with nothing else to prompt
    it (no reload, no reconnect, no coming online), and the server stores it once."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    staying = await browsing.open_app(context, f"/#/c/{dm}")
    # The staying tab holds the stream, so closing the other does not reconnect it.
    await expect(staying.get_by_test_id("connection-status")).to_have_attribute(
        "data-role", "leader"
    )
    closing = await browsing.open_app(context, f"/#/c/{dm}")

    # The closing tab's POST goes to a server that never answers (a request merely paused by
    # the route would go on to Tidings when its page closes).
    held = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.set()
        await reader.read()  # until the browser lets go
        writer.close()

    async with await asyncio.start_server(never_answer, "127.0.0.1", 0) as silent:
        silent_url = f"http://127.0.0.1:{silent.sockets[0].getsockname()[1]}/held"

        async def hold(route: Route) -> None:
            if route.request.method == "POST":
                await route.continue_(url=silent_url)
            else:
                await route.continue_()

        await closing.route(f"**/api/conversations/{dm}/messages", hold)
        composer = closing.get_by_role("textbox", name="Message")
        await composer.fill("Sent as the tab closed")
        await composer.press("Enter")
        async with asyncio.timeout(10):
            await held.wait()
        await expect(
            staying.locator(".msg[data-pending]").get_by_test_id("message-text")
        ).to_have_text("Sent as the tab closed")

        await closing.close()
        await expect(staying.get_by_test_id("message-text")).to_have_text(
            ["Sent as the tab closed"]
        )
        await expect(staying.locator("[data-pending]")).to_have_count(0)
        assert await history(bob, dm) == ["Sent as the tab closed"]
        await expect(staying.get_by_test_id("connection-status")).to_have_attribute(
            "data-role", "leader"
        )


async def test_a_refused_message_says_why_and_is_retried_or_deleted(
    browsing: Browsing, alice_bob_dm
) -> None:
    """A definite refusal is not retried by itself: "Not sent: <why>. Retry · Delete", kept
    across a reload; Retry sends it under its client id, Delete forgets it."""
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    refusing = True

    async def refuse(route: Route) -> None:
        if route.request.method == "POST" and refusing:
            await route.fulfill(
                status=422,
                json={"detail": "Not today.", "code": "test_refusal"},
            )
        else:
            await route.continue_()

    await page.route("**/api/conversations/*/messages", refuse)
    composer = page.get_by_role("textbox", name="Message")
    for text in ("Keep me", "Drop me"):
        await composer.fill(text)
        await composer.press("Enter")
    failed = page.locator(".msg.failed")
    await expect(failed.get_by_test_id("message-state")).to_have_text(
        ["Not sent: Not today. Retry · Delete"] * 2
    )
    await no_axe_violations(page, "two messages refused")

    # Still there after a reload (kept in the outbox), and not sent by itself.
    await page.reload()
    await expect_live(page)
    await expect(failed.get_by_test_id("message-text")).to_have_text(["Keep me", "Drop me"])

    refusing = False
    await failed.filter(has_text="Drop me").get_by_role("button", name="Delete").click()
    await expect(failed).to_have_count(1)
    await failed.get_by_role("button", name="Retry").click()
    await expect(page.get_by_test_id("message-text")).to_have_text(["Keep me"])
    await expect(page.locator("[data-pending]")).to_have_count(0)
    assert await history(bob, dm) == ["Keep me"]
    await page.unroute("**/api/conversations/*/messages", refuse)

    await page.reload()
    await expect_live(page)
    await expect(page.get_by_test_id("message-text")).to_have_text(["Keep me"])


KEPT = """async () => ({
    caches: await caches.keys(),
    storage: Object.keys(localStorage).filter((key) => key.startsWith("tidings:")),
})"""


async def test_signing_out_forgets_the_page_and_the_next_account_gets_its_own(
    browsing: Browsing, alice_bob_dm
) -> None:
    """The kept app page names its user: signing out drops it (and the outbox, the copy of the
    sidebar, every cache); whoever signs in next has their own page offline, not the last one's."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context, f"/#/c/{dm}")
    await ready_offline(page)
    kept = await page.evaluate(KEPT)
    assert any(name.startswith("tidings-page-") for name in kept["caches"])
    assert f"tidings:offline:{alice.id}" in kept["storage"]

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    kept = await page.evaluate(KEPT)
    assert not [name for name in kept["caches"] if name.startswith("tidings-page-")]
    assert kept["storage"] == []

    # Through the worker (it controls this tab), the app page still sends a signed-out visitor
    # to sign in; offline, the app does not open: there is no page to open with.
    assert await page.evaluate("Boolean(navigator.serviceWorker.controller)")
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login$"))
    await context.set_offline(True)
    with pytest.raises(PlaywrightError):
        await page.goto("/")
    await context.set_offline(False)

    # Bob signs in on this browser: offline, it opens as his.
    await page.goto("/login")
    await page.get_by_label("Username").fill(bob.username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect_live(page)
    await ready_offline(page)
    await context.set_offline(True)
    await page.reload()
    await expect(page.get_by_test_id("offline-banner")).to_be_visible()
    await expect(page.get_by_test_id("me-name")).to_have_text("Bob Marley")
    await expect(page.get_by_test_id("conversation-name")).to_have_text(["Alice Liddell"])


async def test_a_reply_with_a_mention_written_offline_survives_a_reload(
    browsing: Browsing, make_user
) -> None:
    """What the outbox keeps is the whole send: written offline as a reply mentioning someone,
    it is shown again (quote and all) after an offline reload, and sent as that reply."""
    alice, bob = await make_user("alice", "Alice Liddell"), await make_user("bob", "Bob Marley")
    await alice.befriend(bob)
    group = (await alice.group("Team", bob))["id"]
    await bob.send(group, "Who brings the cake?")
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context, f"/#/c/{group}")
    await ready_offline(page)

    await context.set_offline(True)
    item = page.get_by_test_id("message").filter(has_text="Who brings the cake?")
    await item.hover()
    await item.get_by_role("button", name="Message actions").click()
    await page.get_by_role("menuitem", name="Reply").click()
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("@bob I do")
    await composer.press("Enter")
    waiting = page.locator(".msg[data-pending]")
    await expect(waiting.get_by_test_id("message-state")).to_have_text("Waiting to send")

    await page.reload()
    await expect(page.get_by_test_id("offline-banner")).to_be_visible()
    await expect(waiting.get_by_test_id("message-text")).to_have_text("@bob I do")
    await expect(waiting.get_by_test_id("message-quote")).to_contain_text("Who brings the cake?")
    await expect(waiting.get_by_test_id("message-state")).to_have_text("Waiting to send")

    await context.set_offline(False)
    await expect_live(page)
    await expect(page.get_by_test_id("message-text")).to_have_text(
        ["Who brings the cake?", "@bob I do"]
    )
    await expect(page.locator("[data-pending]")).to_have_count(0)
    [original, reply] = (await bob.ok("GET", f"/api/conversations/{group}/messages"))["messages"]
    assert (reply["content"], reply["reply_to"]["id"]) == ("@bob I do", original["id"])
    notifications = (await bob.ok("GET", "/api/notifications"))["notifications"]
    assert [n["type"] for n in notifications if n["message_id"] == reply["id"]] == ["mention"]


FILL_LOCAL_STORAGE = """() => {
    let size = 1 << 20;
    for (let i = 0; size > 0; i++) {
        try {
            localStorage.setItem(`filler:${i}`, "x".repeat(size));
        } catch {
            size = Math.floor(size / 2);
        }
    }
}"""


async def test_a_message_is_sent_when_local_storage_is_full(
    browsing: Browsing, alice_bob_dm
) -> None:
    """With localStorage full the outbox cannot be kept across a reload, but what is written
    in this page is still sent (once), even when the first answer is lost."""
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await page.evaluate(FILL_LOCAL_STORAGE)
    posts: list[str] = []
    resent = asyncio.Event()

    async def lose_the_first_answer(route: Route) -> None:
        posts.append(route.request.post_data or "")
        if len(posts) == 1:
            await route.fetch()
            await route.abort("connectionreset")
        else:
            await route.continue_()
            resent.set()

    await page.route(f"**/api/conversations/{dm}/messages", lose_the_first_answer)
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Sent with storage full")
    await composer.press("Enter")
    async with asyncio.timeout(10):
        await resent.wait()
    assert posts[0] == posts[1]
    await expect(page.get_by_test_id("message-text")).to_have_text(["Sent with storage full"])
    await expect(page.locator("[data-pending]")).to_have_count(0)
    assert await history(bob, dm) == ["Sent with storage full"]
    await page.unroute(f"**/api/conversations/{dm}/messages", lose_the_first_answer)


async def test_an_outbox_is_never_sent_with_another_users_session(
    browsing: Browsing, alice_bob_dm
) -> None:
    """Alice's page waits to send while Bob signs in on this browser (her session gone, his
    cookie in its place): her messages are not posted as his (the server refuses a request
    naming another user than the session's); the tab becomes his, and her outbox waits for her."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context, f"/#/c/{dm}")
    await context.set_offline(True)
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("From Alice")
    await composer.press("Enter")
    await expect(page.get_by_test_id("message-state")).to_have_text("Waiting to send")

    response = await context.request.post(
        "/api/auth/login", data={"username": bob.username, "password": PASSWORD}
    )
    assert response.ok
    await context.set_offline(False)
    await expect(page.locator("body")).to_have_attribute("data-user-id", str(bob.id))
    await expect_live(page)
    assert await history(bob, dm) == []

    # Alice signs in again: her message goes, as hers.
    response = await context.request.post(
        "/api/auth/login", data={"username": alice.username, "password": PASSWORD}
    )
    assert response.ok
    await page.goto("about:blank")
    await page.goto(f"/#/c/{dm}")
    await expect_live(page)
    await expect(page.get_by_test_id("message-text")).to_have_text(["From Alice"])
    await expect(page.locator("[data-pending]")).to_have_count(0)
    [message] = (await bob.ok("GET", f"/api/conversations/{dm}/messages"))["messages"]
    assert (message["content"], message["sender"]["id"]) == ("From Alice", alice.id)


async def test_a_browser_wrongly_saying_offline_does_not_hold_messages_back(
    browsing: Browsing, alice_bob_dm
) -> None:
    """`navigator.onLine` can be wrong (and then no `online` event ever comes): while the stream
    is connected the server can be reached, so the banner stays hidden and a message goes."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    await context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'onLine', { get: () => false })"
    )
    page = await browsing.open_app(context, f"/#/c/{dm}")
    assert await page.evaluate("navigator.onLine") is False
    await expect(page.get_by_test_id("offline-banner")).to_be_hidden()
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Sent all the same")
    await composer.press("Enter")
    await expect(page.locator("[data-pending]")).to_have_count(0)
    await expect(page.get_by_test_id("message-text")).to_have_text(["Sent all the same"])
    assert await history(bob, dm) == ["Sent all the same"]


async def test_a_message_never_overtakes_an_earlier_one_whose_send_failed(
    browsing: Browsing, alice_bob_dm
) -> None:
    """Alice writes two messages while the first's POST hangs and then gets no answer: the second
    does not go before it (it waits its turn, then behind the first), and both arrive in the order
    written, once each."""
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    sends = HoldTheFirstSend()
    await page.route(sends.PATTERN, sends)
    composer = page.get_by_role("textbox", name="Message")
    for text in ("One", "Two"):
        await composer.fill(text)
        await composer.press("Enter")
    await expect(page.locator("[data-pending]")).to_have_count(2)
    await (await sends.first).abort("connectionreset")  # "One" got no answer (never stored)

    await expect(page.locator("[data-pending]")).to_have_count(0)
    await expect(page.get_by_test_id("message-text")).to_have_text(["One", "Two"])
    assert await history(bob, dm) == ["One", "Two"]
    assert sends.posted[:2] == ["One", "One"]  # "Two" went only after "One" was sent again
    await page.unroute(sends.PATTERN, sends)


async def test_a_wrong_offline_event_while_the_stream_works_holds_nothing_back(
    browsing: Browsing, alice_bob_dm
) -> None:
    """The browser says, wrongly, that the network went away (an `offline` event, and no
    `online` one after) while the stream goes on working: the next event on it says connected,
    the banner goes, and Alice's reply is sent."""
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await page.evaluate(
        """() => {
          const wrong = { get: () => false, configurable: true };
          Object.defineProperty(Navigator.prototype, 'onLine', wrong);
          window.dispatchEvent(new Event('offline'));
        }"""
    )
    status = page.get_by_test_id("connection-status")
    await expect(status).to_have_attribute("data-state", "offline")
    await bob.send(dm, "Still hearing you")
    await expect(page.get_by_test_id("message-text")).to_have_text(["Still hearing you"])
    await expect(status).to_have_attribute("data-state", "connected")
    await expect(page.get_by_test_id("offline-banner")).to_be_hidden()
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Reply")
    await composer.press("Enter")
    await expect(page.locator("[data-pending]")).to_have_count(0)
    assert await history(bob, dm) == ["Still hearing you", "Reply"]


async def test_messages_a_closed_tab_left_sending_go_before_a_new_one(
    browsing: Browsing, alice_bob_dm
) -> None:
    """A tab closed mid-send left One and Two "sending"; the next page sends them again (One's
    POST held), and Alice writes Three meanwhile: Three waits, and they arrive in order."""
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    await page.evaluate(
        """(dm) => {
          const me = Number(document.body.dataset.userId);
          const entry = (content, n) => ({
            client_id: "left-" + n, conversation_id: dm, sender_id: me, content,
            created_at: new Date().toISOString(), reply_to: null, attachments: [],
            status: "sending", error: null,
          });
          const left = [entry("One", 1), entry("Two", 2)];
          localStorage.setItem("tidings:outbox:" + me, JSON.stringify(left));
        }""",
        dm,
    )
    sends = HoldTheFirstSend()
    await page.route(sends.PATTERN, sends)
    await page.reload()
    await expect_live(page)
    first = await sends.first
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Three")
    await composer.press("Enter")
    await expect(page.locator("[data-pending]")).to_have_count(3)
    await first.continue_()
    await expect(page.locator("[data-pending]")).to_have_count(0)
    await expect(page.get_by_test_id("message-text")).to_have_text(["One", "Two", "Three"])
    assert await history(bob, dm) == ["One", "Two", "Three"]
    assert sends.posted == ["One", "Two", "Three"]
    await page.unroute(sends.PATTERN, sends)


async def test_a_message_written_in_another_tab_waits_for_the_first_tabs_send(
    browsing: Browsing, alice_bob_dm
) -> None:
    """Alice sends One in a tab (its POST hangs, then gets no answer) and Two in another tab of
    the same conversation: Two waits behind One, and they arrive in the order written."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    tab1 = await browsing.open_app(context, f"/#/c/{dm}")
    tab2 = await browsing.open_app(context, f"/#/c/{dm}")
    sends = HoldTheFirstSend()
    await context.route(sends.PATTERN, sends)
    one = tab1.get_by_role("textbox", name="Message")
    await one.fill("One")
    await one.press("Enter")
    first = await sends.first
    two = tab2.get_by_role("textbox", name="Message")
    await two.fill("Two")
    await two.press("Enter")
    await expect(tab2.get_by_test_id("message-state").last).to_have_text("Waiting to send")
    assert sends.posted == ["One"]
    await first.abort("connectionreset")  # One got no answer: it goes again, then Two

    for tab in (tab1, tab2):
        await expect(tab.locator("[data-pending]")).to_have_count(0)
        await expect(tab.get_by_test_id("message-text")).to_have_text(["One", "Two"])
    assert await history(bob, dm) == ["One", "Two"]
    await context.unroute(sends.PATTERN, sends)

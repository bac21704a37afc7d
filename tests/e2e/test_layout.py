"""Desktop and phone layouts, keyboard use, and screenshots of the main screens.

Screenshots go to artifacts/screenshots/ (not committed); the best two are copied by hand into
docs/screenshots/ for the README.
"""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, SCREENSHOTS, Browsing

pytestmark = pytest.mark.e2e


async def shoot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / f"{name}.png")


def a_lake_picture() -> bytes:
    """A small landscape (sky, sun, hills, a lake) drawn with Pillow, as a PNG."""
    from PIL import Image, ImageDraw

    width, height = 960, 600
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # the sky, then the lake, each a gradient
        t = y / height
        sky = (int(255 - 120 * t), int(190 - 60 * t), int(120 + 110 * t))
        lake = (int(40 + 40 * t), int(110 + 40 * t), int(170 + 30 * t))
        draw.line([(0, y), (width, y)], fill=sky if y < 380 else lake)
    draw.ellipse((640, 90, 760, 210), fill=(255, 236, 170))
    draw.polygon([(0, 380), (180, 170), (330, 300), (500, 130), (720, 380)], fill=(70, 92, 120))
    draw.polygon([(300, 380), (610, 200), (790, 310), (960, 230), (960, 380)], fill=(48, 70, 96))
    draw.polygon(
        [(0, 380), (0, 330), (260, 360), (520, 345), (960, 365), (960, 380)], fill=(38, 86, 60)
    )
    for x in range(40, width, 130):  # the sun on the water
        draw.line(
            [(x + 560, 400 + x // 12), (x + 640, 400 + x // 12)], fill=(255, 230, 170), width=3
        )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def a_lively_account(make_user):
    """Alice, with friends, a DM, a group (with a photo, replies and reactions), unread messages
    and a pending friend request."""
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    dan = await make_user("dan", "Dan Brown")
    await alice.befriend(bob)
    await alice.befriend(carol)
    await bob.befriend(carol)
    dm = (await alice.dm(bob))["id"]
    for sender, text in [
        (bob, "Did you get the tickets for Friday?"),
        (alice, "Yes! Two seats, row F."),
        (bob, "Amazing. Dinner before the show?"),
        (alice, "Let's do the ramen place\non the corner."),
    ]:
        await sender.send(dm, text)
    group = await alice.group("Weekend plans", bob, carol)
    messages = f"/api/conversations/{group['id']}/messages"
    await carol.send(group["id"], "Hiking on Saturday? The weather looks perfect ☀️")
    which = await bob.send(group["id"], "I'm in. Which trail?")
    await alice.ok(
        "POST",
        messages,
        {"content": "The lake loop: 12 km, mostly flat.", "reply_to_id": which["id"]},
        201,
    )
    picture = await carol.client.post(
        "/api/attachments",
        content=a_lake_picture(),
        headers={"Content-Type": "image/png"},
        params={"filename": "lake-loop.png"},
    )
    assert picture.status_code == 201, picture.text
    photo = await carol.ok(
        "POST",
        messages,
        {
            "content": "The view from the top, last time 😍",
            "attachment_ids": [picture.json()["id"]],
        },
        201,
    )
    station = await carol.send(group["id"], "Perfect. 9am at the station?")
    for person, message, emoji in [
        (alice, photo["message"], "❤️"),
        (bob, photo["message"], "❤️"),
        (bob, photo["message"], "😮"),
        (alice, station, "😂"),
    ]:
        path = f"{messages}/{message['id']}/reactions/{quote(emoji)}"
        await person.ok("PUT", path)
    await bob.ok("POST", messages, {"content": "See you there!", "reply_to_id": station["id"]}, 201)
    await alice.ok("POST", f"/api/conversations/{group['id']}/read")
    await alice.ok("POST", f"/api/conversations/{dm}/read")
    await alice.ok("POST", "/api/notifications/read-all")
    carol_dm = (await carol.dm(alice))["id"]
    await carol.send(carol_dm, "Can I borrow your tent?")
    await dan.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    return alice, bob, group["id"], carol_dm


async def test_screens_on_desktop_and_phone(browsing: Browsing, make_user) -> None:
    alice, bob, group, _ = await a_lively_account(make_user)

    login = await (await browsing.context(DESKTOP)).new_page()
    await login.goto("/login")
    await expect(login.get_by_role("heading", name="Welcome back")).to_be_visible()
    await shoot(login, "desktop-sign-in")
    await login.set_viewport_size(PHONE)
    await shoot(login, "phone-sign-in")

    desk = await browsing.open_app(await browsing.signed_in(alice, DESKTOP), f"/#/c/{group}")
    await expect(desk.get_by_test_id("message-text").last).to_have_text("See you there!")
    # The bell: Carol's new message (derived, on top) and Dan's friend request.
    await expect(desk.get_by_test_id("bell-badge")).to_have_text("2")
    photo = desk.get_by_role("img", name="lake-loop.png")
    await desk.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await photo.element_handle()
    )
    await shoot(desk, "desktop-conversation")
    await desk.get_by_test_id("bell-button").click()
    await expect(desk.get_by_test_id("notification-item")).to_contain_text(
        ["Carol King sent you a message", "Dan Brown wants to be your friend"]
    )
    await shoot(desk, "desktop-notifications")
    await desk.keyboard.press("Escape")
    await desk.get_by_test_id("nav-friends").click()
    await desk.get_by_role("searchbox").fill("c")
    await expect(desk.get_by_test_id("search-result")).to_have_count(1)
    await shoot(desk, "desktop-friends")
    await desk.get_by_role("button", name="New chat").click()
    await expect(desk.get_by_role("dialog", name="New chat")).to_be_visible()
    await shoot(desk, "desktop-new-chat")

    phone = await browsing.open_app(await browsing.signed_in(alice, PHONE))
    # Phone: the list alone, then the conversation alone with a way back.
    await expect(phone.get_by_test_id("conversation-list")).to_be_visible()
    await expect(phone.get_by_test_id("empty-state")).to_be_hidden()
    await shoot(phone, "phone-conversations")
    await phone.get_by_test_id("conversation-item").filter(has_text="Weekend plans").click()
    await expect(phone.get_by_test_id("message-text").last).to_have_text("See you there!")
    await expect(phone.get_by_test_id("conversation-list")).to_be_hidden()
    await shoot(phone, "phone-conversation")
    await phone.get_by_role("link", name="Back to conversations").click()
    await expect(phone.get_by_test_id("conversation-list")).to_be_visible()
    await phone.get_by_test_id("nav-friends").click()
    await expect(phone.get_by_test_id("incoming-request")).to_contain_text("Dan Brown")
    await shoot(phone, "phone-friends")
    await phone.get_by_role("link", name="Back to conversations").click()
    await phone.get_by_test_id("bell-button").click()
    await expect(phone.get_by_test_id("notification-panel")).to_be_visible()
    await shoot(phone, "phone-notifications")

    # Both layouts stay live: a new message reaches both.
    await bob.send(group, "Bringing snacks 🍫")
    await expect(desk.get_by_test_id("conversation-preview").first).to_have_text(
        "Bob Marley: Bringing snacks 🍫"
    )
    await expect(phone.get_by_test_id("conversation-preview").first).to_have_text(
        "Bob Marley: Bringing snacks 🍫"
    )


async def test_keyboard_only(browsing: Browsing, make_user) -> None:
    alice, bob, group, carol_dm = await a_lively_account(make_user)
    page = await browsing.open_app(await browsing.signed_in(alice))

    # The bell opens with Enter, moves focus into the list, and closes with Escape.
    await page.get_by_test_id("bell-button").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("notification-panel")).to_be_visible()
    carols = page.get_by_test_id("notification-item").filter(has_text="Carol King sent you")
    await expect(carols.get_by_test_id("notification-open")).to_be_focused()
    # A new message re-orders the list under the focus, which stays where it was.
    await bob.send(group, "Anyone for a swim after?")
    await expect(page.get_by_test_id("notification-item").first).to_contain_text(
        "Bob Marley: 1 new message in Weekend plans"
    )
    await expect(carols.get_by_test_id("notification-open")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("notification-panel")).to_be_hidden()
    await expect(page.get_by_test_id("bell-button")).to_be_focused()

    # Tab to a conversation (the second: Bob's message put the group first), open it with
    # Enter, type and send with Enter.
    await page.get_by_test_id("new-chat-button").focus()
    await page.keyboard.press("Tab")
    await expect(page.get_by_test_id("conversation-item").first).to_be_focused()
    await page.keyboard.press("Tab")  # the entry's "More actions" button (views/sidebar.js)
    await expect(page.get_by_test_id("conversation-menu-button").first).to_be_focused()
    await page.keyboard.press("Tab")
    second = page.get_by_test_id("conversation-item").nth(1)
    await expect(second).to_be_focused()
    await expect(second).to_contain_text("Carol King")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"#/c/{carol_dm}$"))
    await expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    await page.keyboard.type("Of course, it's in the garage.")
    await page.keyboard.press("Enter")
    await expect(page.get_by_test_id("message-text").last).to_have_text(
        "Of course, it's in the garage."
    )
    carol = page.get_by_test_id("conversation-item").first  # her conversation is the latest
    await expect(carol).to_contain_text("You: Of course, it's in the garage.")
    await expect(carol.get_by_test_id("unread-badge")).to_be_hidden()


async def tap(context: BrowserContext, page: Page, point: dict[str, float]) -> None:
    """A finger on ``point``: Chromium's touch events sent through the DevTools protocol (its
    touch emulation would make the page say (hover: none), which a touch laptop does not)."""
    cdp = await context.new_cdp_session(page)
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


async def test_a_tap_on_an_entrys_time_opens_it_on_a_touch_laptop(
    browsing: Browsing, alice_bob_dm
) -> None:
    """A laptop with a touch screen says (hover: hover): each sidebar entry's "More actions"
    button lies unseen over its time there. A mouse over the entry shows it; a tap on the time
    opens the conversation, not the menu of a button nobody saw."""
    _, bob, dm = alice_bob_dm
    context = await browsing.signed_in(bob)
    page = await browsing.open_app(context)
    assert await page.evaluate("matchMedia('(hover: hover)').matches")
    entry = page.get_by_test_id("conversation-item")
    more = page.get_by_role("button", name="More actions for Alice Liddell")
    await expect(more).to_have_css("opacity", "0")

    # The mouse over the entry: the button shows, and a click on it opens the menu.
    await entry.hover()
    await expect(more).to_have_css("opacity", "1")
    await more.click()
    menu = page.get_by_role("menu", name="Actions for Alice Liddell")
    await expect(menu).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await page.mouse.move(0, 0)
    await page.get_by_test_id("empty-state").click()  # the focus out of the entry
    await expect(more).to_have_css("opacity", "0")

    # A finger on the time.
    box = await entry.get_by_test_id("conversation-time").bounding_box()
    assert box is not None
    await tap(context, page, {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2})
    await expect(page).to_have_url(re.compile(rf"#/c/{dm}$"))
    await expect(menu).to_have_count(0)


async def test_a_tap_on_a_quote_under_the_message_actions_opens_it_on_a_touch_laptop(
    browsing: Browsing, alice_bob_dm
) -> None:
    """A laptop with a touch screen says (hover: hover): a message's action bar (React, Reply,
    "⋯") lies unseen over the top corner of its bubble there. A mouse over the message shows it;
    a tap on the reply's quote under it goes to the original, not to a button nobody saw."""
    alice, bob, dm = alice_bob_dm
    original = await alice.send(
        dm, "Which way to the lake from the station, and is the north path along the railway open?"
    )
    await bob.ok(
        "POST",
        f"/api/conversations/{dm}/messages",
        {"content": "Take the north path", "reply_to_id": original["id"]},
        201,
    )
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context, f"/#/c/{dm}")
    assert await page.evaluate("matchMedia('(hover: hover)').matches")
    reply = page.get_by_test_id("message").filter(has_text="Take the north path")
    bar = reply.locator(".msg-actions")
    more = bar.get_by_role("button", name="Message actions")
    await expect(bar).to_have_css("opacity", "0")

    # The mouse over the message: its bar shows, and a click on "⋯" opens the menu.
    await reply.get_by_test_id("message-text").hover()
    await expect(bar).to_have_css("opacity", "1")
    await more.click()
    menu = page.get_by_role("menu", name="Message actions")
    await expect(menu).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await page.mouse.move(0, 0)
    await page.get_by_role("textbox", name="Message").focus()  # the focus out of the message
    await expect(bar).to_have_css("opacity", "0")

    # A finger on the quote where one of the bar's buttons lies over it.
    quote_box = await reply.get_by_test_id("message-quote").bounding_box()
    assert quote_box is not None
    overlaps = []
    for button in await bar.get_by_role("button").all():
        box = await button.bounding_box()
        assert box is not None
        left, right = (
            max(quote_box["x"], box["x"]),
            min(quote_box["x"] + quote_box["width"], box["x"] + box["width"]),
        )
        top, bottom = (
            max(quote_box["y"], box["y"]),
            min(quote_box["y"] + quote_box["height"], box["y"] + box["height"]),
        )
        if left < right and top < bottom:
            overlaps.append(
                (
                    (right - left) * (bottom - top),
                    {"x": (left + right) / 2, "y": (top + bottom) / 2},
                )
            )
    assert overlaps, "none of the bar's buttons lies over the quote any more"
    await tap(context, page, max(overlaps, key=lambda overlap: overlap[0])[1])
    target = page.locator(f"[data-message-id='{original['id']}']")
    await expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    await expect(menu).to_have_count(0)
    await expect(page.get_by_test_id("reaction-picker")).to_have_count(0)
    await expect(page.get_by_test_id("reply-bar")).to_be_hidden()

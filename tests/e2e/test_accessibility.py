"""axe-core on every view and dialog of the web client, at desktop and phone width, light and dark.

One browser context per (width, colour scheme) walks through the sign-in and register pages, the
sidebar and a conversation's menu there, the bell's panel, the search, new-chat and settings
dialogs (tokens, bots, a new secret), the friends view, a group conversation with history (a
reply, reactions, a mention, an image and a file, a bot's message, an edited message, "Seen by"),
every popup a message has (actions menu, reaction picker, edit history, the editor, an error
toast), mention suggestions, a reply and a file waiting to be sent, the mute menu, the image
viewer, a profile card, the members dialog (adding people, a member's menu, a confirmation), and a
DM opened at its first unread message with its partner's card. axe runs in each state; the test
fails listing every violation once (rule, impact, element, why, and the states it was seen in).

Rules run: the tags ``wcag2a``, ``wcag2aa``, ``wcag21a`` and ``wcag21aa`` (WCAG 2.1 AA, the
bar), ``best-practice`` (one ``main`` landmark and a level-one heading per page, content in
landmarks, allowed ARIA roles, headings in order: what screen-reader users navigate by, and
cheap to meet), and the experimental ``label-content-name-mismatch`` (WCAG 2.5.3, label in name:
an accessible name contains the visible text, so speech input can say what it sees). WCAG 2.2's
rules (``wcag22aa``: target sizes) are not run: 2.1 AA is the bar this client sets itself.

Contrast axe cannot measure (text on gradients: our own bubbles, avatars' initials) it reports
as "incomplete", not as violations: the palette's pairs are computed by hand (the comments in
tidings.css); avatars' initials are decoration beside the name.

Dark mode is exercised both ways a page gets it: the desktop case sets the person's theme to
"dark" (``data-theme="dark"``), the phone case leaves it at "system" on a dark device (the
stylesheet's ``prefers-color-scheme`` block); the sign-in pages follow the device. axe-core comes
inside the axe-playwright-python package: nothing is fetched while the tests run.

Also here: new messages said through the polite live region (and the history not), and
``prefers-reduced-motion``. The keyboard (focus rings, dialogs keeping and giving back the focus)
is tests/e2e/test_keyboard.py.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, Browsing, expect_live
from tests.support.api import PASSWORD, ApiUser

pytestmark = pytest.mark.e2e

RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
AXE_OPTIONS: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": RULE_TAGS},
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
}
# Animations and transitions under way (a toast fading in) are let finish: axe measures colours
# as they are at that moment. (Endless ones, the connecting dot's pulse, never finish.)
SETTLED = """() => Promise.all(document.getAnimations()
  .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
  .map((a) => a.finished.catch(() => null)))"""


class Violation:
    """One rule broken by one element, and the states of the walk it was seen in."""

    def __init__(self, rule: dict[str, Any], node: dict[str, Any], target: str) -> None:
        self.rule = rule["id"]
        self.impact = rule["impact"]
        self.help = rule["help"]
        self.target = target
        self.summary = " ".join(node["failureSummary"].split())
        self.views: list[str] = []


class Audit:
    """Runs axe on a page's current state, keeping each violation (rule and element) once."""

    def __init__(self, page: Page, case: str) -> None:
        self.page = page
        self.case = case
        self.axe = Axe()
        self.found: dict[tuple[str, str], Violation] = {}

    async def check(self, view: str) -> None:
        await self.page.evaluate(SETTLED)
        results = await self.axe.run(self.page, options=AXE_OPTIONS)
        for rule in results.response["violations"]:
            for node in rule["nodes"]:
                target = " ".join(str(part) for part in node["target"])
                key = (rule["id"], target)
                self.found.setdefault(key, Violation(rule, node, target)).views.append(view)

    def report(self) -> str:
        lines = [f"{len(self.found)} axe violation(s) at {self.case}:"]
        for v in self.found.values():
            lines += [
                f"- {v.rule} ({v.impact}): {v.help}",
                f"    element: {v.target}",
                f"    {v.summary}",
                f"    in: {', '.join(v.views)}",
            ]
        return "\n".join(lines)


def a_small_picture() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (70, 110, 170)).save(buffer, "PNG")
    return buffer.getvalue()


async def upload(user: ApiUser, name: str, body: bytes, kind: str) -> int:
    answer = await user.client.post(
        "/api/attachments", content=body, headers={"Content-Type": kind}, params={"filename": name}
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


async def a_full_account(make_user) -> tuple[ApiUser, int, int]:
    """Alice with friends, requests both ways, notifications, a token and a bot; a group whose
    history shows every kind of message, and a DM with an unread message. Returns Alice, the
    group's id and the DM's."""
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    dan = await make_user("dan", "Dan Brown")
    await make_user("erin", "Erin Hunt")
    await alice.befriend(bob)
    await alice.befriend(carol)
    bot = (await alice.ok("POST", "/api/bots", {"username": "echo_bot"}, 201))["bot"]["user"]
    await alice.ok(
        "POST", f"/api/bots/{bot['id']}/tokens", {"name": "Echo", "scopes": ["write"]}, 201
    )
    script = await alice.ok(
        "POST", f"/api/bots/{bot['id']}/tokens", {"name": "Script", "scopes": ["write"]}, 201
    )
    members = [bob.id, carol.id, bot["id"]]
    group = (
        await alice.ok(
            "POST",
            "/api/conversations",
            {"type": "group", "name": "Weekend plans", "member_ids": members},
            201,
        )
    )["id"]
    messages = f"/api/conversations/{group}/messages"
    await carol.send(group, "Hiking on Saturday? The **weather** looks perfect ☀️")
    which = await bob.send(group, "I'm in. Which trail? See https://example.com/trails")
    await alice.ok(
        "POST", messages, {"content": "The lake loop, 12 km.", "reply_to_id": which["id"]}, 201
    )
    files = [
        await upload(carol, "lake.png", a_small_picture(), "image/png"),
        await upload(carol, "route.txt", b"12 km, mostly flat", "text/plain"),
    ]
    photo = await carol.ok(
        "POST", messages, {"content": "The view and the route", "attachment_ids": files}, 201
    )
    for person in (alice, bob):
        await person.ok("PUT", f"{messages}/{photo['message']['id']}/reactions/{quote('❤️')}")
    async with httpx.AsyncClient(
        base_url=alice.client.base_url, headers={"Authorization": f"Bearer {script['secret']}"}
    ) as echo:
        assert (await echo.post(messages, json={"content": "Weather: sunny, 24°C"})).is_success
    await bob.send(group, "@alice bring the map please")
    edited = await alice.send(group, "Sure, 9am at the statoin")
    await alice.ok("PATCH", f"{messages}/{edited['id']}", {"content": "Sure, 9am at the station"})
    await bob.ok("POST", f"/api/conversations/{group}/read")
    await dan.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    await alice.ok("POST", "/api/friends/request", {"username": "erin"}, 201)
    dm = (await carol.dm(alice))["id"]
    await alice.send(dm, "Are you coming on Saturday?")
    await carol.send(dm, "Can I borrow your tent?")
    await alice.ok("POST", "/api/tokens", {"name": "Backup script", "scopes": ["read"]}, 201)
    return alice, group, dm


async def go(page: Page, hash_: str) -> None:
    await page.evaluate("hash => { location.hash = hash; }", hash_)


async def walk(page: Page, audit: Audit, alice: ApiUser, group: int, dm: int) -> None:
    """Every view and dialog, in turn (the page is signed out at the start)."""
    await page.goto("/login")
    await expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    await audit.check("sign-in page")
    await page.goto("/register")
    await expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    await audit.check("register page")

    response = await page.request.post(
        "/api/auth/login", data={"username": alice.username, "password": PASSWORD}
    )
    assert response.ok, await response.text()
    await page.goto("/")
    await expect_live(page)
    await expect(page.get_by_test_id("conversation-item")).to_have_count(2)
    await audit.check("sidebar")
    # A conversation's own menu, from its "More actions" button (beside the entry's link).
    await page.get_by_test_id("conversation-item").first.hover()  # shows its button
    await page.get_by_test_id("conversation-menu-button").first.click()
    await expect(page.get_by_test_id("conversation-menu")).to_be_visible()
    await audit.check("conversation list menu")
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("conversation-menu")).to_have_count(0)

    # The bell, search, new chat and settings live in the sidebar (alone on a phone's home).
    await page.get_by_test_id("bell-button").click()
    await expect(page.get_by_test_id("notification-item").first).to_contain_text("Carol King")
    await audit.check("bell panel")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("search-button").click()
    await page.get_by_test_id("search-input").fill("lake")
    await expect(page.get_by_test_id("search-result")).not_to_have_count(0)
    await audit.check("search dialog")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("new-chat-button").click()
    await page.get_by_test_id("new-chat-search").fill("da")
    await expect(page.get_by_test_id("new-chat-result")).to_have_count(1)
    await audit.check("new-chat dialog")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("settings-button").click()
    await expect(page.get_by_test_id("token")).to_have_count(1)
    await page.get_by_test_id("bot-manage").click()
    await expect(page.get_by_test_id("bot-webhook")).to_be_visible()
    await page.get_by_test_id("token-name").first.fill("Phone")
    await page.get_by_test_id("token-create").first.click()
    await expect(page.get_by_test_id("token-secret").first).to_be_visible()
    await page.get_by_test_id("settings-delete-start").click()
    await audit.check("settings dialog (tokens, bots, a new secret)")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("nav-friends").click()
    await expect(page.get_by_test_id("incoming-request")).to_contain_text("Dan Brown")
    await page.get_by_test_id("friend-search").fill("car")
    await expect(page.get_by_test_id("search-result")).to_have_count(1)
    await audit.check("friends view")

    await go(page, f"#/c/{group}")
    await expect(page.get_by_test_id("message-text").last).to_have_text("Sure, 9am at the station")
    await expect(page.get_by_test_id("seen-by")).to_be_visible()
    await audit.check("group conversation")

    mine = page.get_by_test_id("message").last
    await mine.hover()
    await mine.get_by_test_id("message-menu-button").click()
    await expect(page.get_by_test_id("message-menu")).to_be_visible()
    await audit.check("message actions menu")
    await page.keyboard.press("Escape")
    await mine.hover()
    await mine.get_by_role("button", name="React").click()
    await expect(page.get_by_test_id("reaction-picker")).to_be_visible()
    await audit.check("reaction picker")
    await page.keyboard.press("Escape")
    await mine.get_by_test_id("message-edited").click()
    await expect(page.get_by_test_id("edit-history-version")).to_have_count(2)
    await audit.check("edit history")
    await page.keyboard.press("Escape")
    await page.get_by_test_id("seen-by").click()
    await expect(page.get_by_test_id("seen-by-list")).to_be_visible()
    await audit.check("seen-by list")
    await page.get_by_test_id("seen-by").click()

    await mine.hover()
    await mine.get_by_test_id("message-menu-button").click()
    await page.get_by_test_id("menu-edit").click()
    editor = page.get_by_role("textbox", name="Edit message")
    await editor.fill("")
    await editor.press("Enter")  # no text: refused, in a toast
    await expect(page.get_by_test_id("error-toasts").locator("li")).to_have_count(1)
    await audit.check("message editor and an error toast")
    await editor.press("Escape")

    composer = page.get_by_role("textbox", name="Message")
    await composer.press_sequentially("@bo")
    await expect(page.get_by_test_id("mention-option")).to_have_count(1)
    await audit.check("mention suggestions")
    await composer.press("Escape")
    await composer.fill("")

    photo = page.get_by_test_id("message").filter(has=page.get_by_test_id("attachment-image"))
    await photo.hover()
    await photo.get_by_role("button", name="Reply").click()
    await expect(page.get_by_test_id("reply-bar")).to_be_visible()
    await page.get_by_test_id("attach-input").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"Bring water"}]
    )
    await expect(page.get_by_test_id("attachment-chip")).to_have_attribute("data-status", "done")
    await audit.check("a reply with a file to send")
    await page.get_by_test_id("attachment-chip-remove").click()
    await page.get_by_test_id("reply-cancel").click()

    await page.get_by_test_id("mute-button").click()
    await expect(page.get_by_test_id("mute-menu")).to_be_visible()
    await audit.check("mute menu")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("attachment-image").click()
    await expect(page.get_by_test_id("attachment-viewer")).to_be_visible()
    await audit.check("image viewer")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("message-sender").first.click()
    await expect(page.get_by_test_id("profile-card")).to_be_visible()
    await expect(page.get_by_test_id("profile-actions").get_by_role("button")).not_to_have_count(0)
    await audit.check("profile card")
    await page.keyboard.press("Escape")

    await page.get_by_test_id("members-button").click()
    await expect(page.get_by_test_id("member")).to_have_count(4)
    await page.get_by_test_id("add-people-button").click()
    bob = page.get_by_test_id("member").filter(has_text="Bob Marley")
    await bob.get_by_test_id("member-menu-button").click()
    await expect(page.get_by_test_id("member-menu")).to_be_visible()
    await audit.check("members dialog, adding people, a member's menu")
    await page.get_by_test_id("member-menu").get_by_role("menuitem").last.click()
    await expect(page.get_by_test_id("confirm-dialog")).to_be_visible()
    await audit.check("confirmation dialog")
    await page.get_by_test_id("confirm-cancel").click()
    await page.keyboard.press("Escape")
    await expect(page.get_by_test_id("members-panel")).to_be_hidden()

    await go(page, f"#/c/{dm}")
    await expect(page.get_by_test_id("unread-divider")).to_be_visible()
    await audit.check("a DM opened at its first unread message")
    await page.get_by_test_id("conversation-avatar").click()
    await expect(page.get_by_test_id("profile-card")).to_be_visible()
    await audit.check("the DM partner's profile card")
    await page.keyboard.press("Escape")


CASES = {
    "desktop-light": (DESKTOP, "light"),
    "desktop-dark": (DESKTOP, "dark"),
    "phone-light": (PHONE, "light"),
    "phone-dark": (PHONE, "dark"),
}


@pytest.mark.parametrize("case", CASES)
async def test_no_axe_violations(browsing: Browsing, make_user, case: str) -> None:
    viewport, scheme = CASES[case]
    alice, group, dm = await a_full_account(make_user)
    if case == "desktop-dark":
        await alice.ok("PATCH", "/api/users/me/settings", {"theme": "dark"})
    page = await (await browsing.context(viewport)).new_page()
    await page.emulate_media(color_scheme=scheme)
    audit = Audit(page, case)
    await walk(page, audit, alice, group, dm)
    if audit.found:
        pytest.fail(audit.report(), pytrace=False)


@pytest.mark.settings(rate_limit_send="1000/10 seconds")
async def test_new_messages_are_announced_politely(browsing: Browsing, alice_bob_dm) -> None:
    """A message from someone else in the open conversation is said ("Bob Marley: …") through
    the polite live region; the history loading on opening and on scrolling back is not, nor our
    own messages, nor messages elsewhere."""
    alice, bob, dm = alice_bob_dm
    for n in range(50):
        await (bob if n % 2 else alice).send(dm, f"Earlier message {n}")
    await alice.ok("POST", f"/api/conversations/{dm}/read")
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    announcer = page.get_by_test_id("message-announcer")
    await expect(announcer).to_have_attribute("aria-live", "polite")
    await expect(page.get_by_test_id("message-text").last).to_have_text("Earlier message 49")
    # The message list itself is not a live region (it would read out every page that loads).
    assert await page.locator("[aria-live]").evaluate_all(
        "els => els.every(el => !el.closest('[data-testid=message-list]'))"
    )

    await page.get_by_test_id("message-list").evaluate("el => { el.scrollTop = 0; }")
    await expect(page.get_by_test_id("history-status")).to_have_text(
        "This is the beginning of the conversation."
    )
    await expect(page.get_by_test_id("message-text").first).to_have_text("Earlier message 0")
    await expect(announcer).to_have_text("")

    await bob.send(dm, "Are you there?")
    await expect(announcer).to_have_text("Bob Marley: Are you there?")
    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Yes!")
    await composer.press("Enter")
    await expect(page.get_by_test_id("message-text").last).to_have_text("Yes!")
    await bob.send(dm, "Great")  # said too, after the last one (ours was not)
    await expect(announcer.locator("p")).to_have_text(
        ["Bob Marley: Are you there?", "Bob Marley: Great"]
    )


async def test_reduced_motion_turns_off_animation(browsing: Browsing, alice_bob_dm) -> None:
    """With ``prefers-reduced-motion: reduce`` nothing animates or transitions."""
    alice, _, _ = alice_bob_dm
    context = await browsing.signed_in(alice)
    page = await context.new_page()
    await page.emulate_media(reduced_motion="reduce")
    await page.goto("/")
    await expect_live(page)
    durations = """els => els.map(el => {
      const style = getComputedStyle(el);
      return [style.animationName, style.transitionDuration];
    })"""
    still = page.locator(".btn, .conv-item, .send-btn, .conn-dot")
    assert await still.count() > 3
    for name, duration in await still.evaluate_all(durations):
        assert name == "none" and set(duration.split(", ")) == {"0s"}, (name, duration)
    await page.emulate_media(reduced_motion="no-preference")
    moving = await page.locator(".btn").first.evaluate(
        "el => getComputedStyle(el).transitionDuration"
    )
    assert moving != "0s"  # the same elements do move by default

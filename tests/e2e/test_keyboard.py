"""The web client with the keyboard alone: Tab, Shift+Tab, Enter, Escape and typing, no clicks and
no focus() calls.

From the sign-in page to a sent message and the bell's panel, every element the focus lands on
shows a focus ring (an outline, or the ring inputs and the composer draw) in a colour that stands
out 3:1 from what is behind it, in light and dark mode. Dialogs keep the focus while open (Tab
goes round inside) and give it back to what opened them on Escape.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.conftest import DESKTOP, Browsing, expect_live
from tests.support.api import PASSWORD

pytestmark = pytest.mark.e2e

# What the focused element shows: null when it has a visible ring, else why not. The ring is an
# outline at least 2 px wide, or the 1 px ring of a focused input (a box shadow) or of the
# composer around its textarea; its colour is measured against the first opaque background
# behind it (the element's own for a ring drawn inside it, its parent's for one outside).
RING_PROBLEM = """async () => {
  await Promise.all(document.getAnimations()  // a ring fading in: measured once it is in
    .filter((a) => a.effect?.getComputedTiming().iterations !== Infinity)
    .map((a) => a.finished.catch(() => null)));
  const el = document.activeElement;
  if (!el || el === document.body) return "nothing has the focus";
  const label = el.getAttribute("aria-label") || el.textContent || el.dataset.testid || "";
  const name = `${el.tagName.toLowerCase()} "${label.trim().slice(0, 40)}"`;
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const linear = (v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
  const luminance = ([r, g, b]) =>
    0.2126 * linear(r / 255) + 0.7152 * linear(g / 255) + 0.0722 * linear(b / 255);
  const backgroundOf = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const colour = rgb(getComputedStyle(n).backgroundColor);
      if (colour.length === 3 || colour[3] === 1) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const host = el.tagName === "TEXTAREA" && el.closest(".composer") ? el.closest(".composer") : el;
  const style = getComputedStyle(host);
  let colour, behind;
  if (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2) {
    colour = rgb(style.outlineColor);
    behind = backgroundOf(parseFloat(style.outlineOffset) < 0 ? host : host.parentElement);
  } else {
    const ring = style.boxShadow.match(/(rgba?\\([^)]*\\)) 0px 0px 0px 1px/);
    if (!ring) return `${name}: no focus ring`;
    colour = rgb(ring[1]);
    behind = backgroundOf(host.parentElement);
  }
  const alpha = colour[3] ?? 1; // a translucent ring shows as blended with what is behind it
  const shown = behind.map((c, i) => alpha * colour[i] + (1 - alpha) * c);
  const [a, b] = [luminance(shown), luminance(behind)].sort((x, y) => y - x);
  const ratio = (a + 0.05) / (b + 0.05);
  return ratio >= 3 ? null : `${name}: focus ring contrast ${ratio.toFixed(2)}`;
}"""


async def focused(page: Page) -> str:
    """What has the focus, in words (for assertion messages)."""
    return await page.evaluate(
        "() => { const el = document.activeElement; return"
        " `${el.tagName} ${el.dataset.testid ?? ''} ${el.textContent.trim().slice(0, 30)}`; }"
    )


async def press(page: Page, key: str) -> None:
    """Press `key`; the element the focus lands on must show its ring."""
    await page.keyboard.press(key)
    problem = await page.evaluate(RING_PROBLEM)
    assert problem is None, problem


# Where `el` is from the focus: 0 (it has it), 1 (after it in the page), -1 (before it).
WHERE = """el => el === document.activeElement ? 0
  : document.activeElement.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING
  ? 1 : -1"""


async def tab_to(page: Page, target: Locator, *, limit: int = 80) -> None:
    """Tab (or Shift+Tab, if it comes before) until `target` has the focus."""
    where = await target.evaluate(WHERE)
    for _ in range(limit):
        if await target.evaluate("el => el === document.activeElement"):
            return
        await press(page, "Tab" if where > 0 else "Shift+Tab")
    raise AssertionError(f"never reached {target} with the keyboard; at {await focused(page)}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_keyboard_only(browsing: Browsing, alice_bob_dm, make_user, scheme: str) -> None:
    alice, bob, dm = alice_bob_dm
    carol = await make_user("carol", "Carol King")
    await alice.befriend(carol)
    await bob.send(dm, "Lunch tomorrow?")
    await carol.send((await carol.dm(alice))["id"], "Hi Alice!")  # the first in the sidebar
    page = await (await browsing.context(DESKTOP)).new_page()
    await page.emulate_media(color_scheme=scheme)

    # Sign in: Tab to the username, type, Tab to the password, type, Enter.
    await page.goto("/login")
    await press(page, "Tab")
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type(alice.username)
    await press(page, "Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type(PASSWORD)
    await tab_to(page, page.get_by_role("button", name="Sign in"))
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect_live(page)

    # Tab to Bob's conversation in the sidebar, open it, write and send with Enter.
    bobs = page.get_by_test_id("conversation-item").filter(has_text="Bob Marley")
    await tab_to(page, bobs)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"#/c/{dm}$"))
    composer = page.get_by_role("textbox", name="Message")
    await expect(composer).to_be_focused()
    await page.keyboard.type("Yes, at noon")
    await page.keyboard.press("Enter")
    sent = page.get_by_test_id("message").filter(has_text="Yes, at noon")
    await expect(sent).to_have_attribute("data-message-id", re.compile(r"^\d+$"))  # sent
    await expect(sent.get_by_test_id("message-state")).to_have_count(0)
    await expect(composer).to_be_focused()
    await expect(composer).to_have_value("")

    # The bell: back up to it, open its panel with Enter, Tab inside it, close it with Escape.
    bell = page.get_by_test_id("bell-button")
    await tab_to(page, bell)
    await page.keyboard.press("Enter")
    panel = page.get_by_test_id("notification-panel")
    await expect(panel).to_be_visible()
    await expect(panel.get_by_test_id("notification-open").first).to_be_focused()
    await press(page, "Tab")
    await press(page, "Tab")
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(bell).to_be_focused()
    await expect(bell).to_have_attribute("aria-expanded", "false")

    # Bob's entry in the sidebar: Tab to its "More actions" button, open the menu with Enter,
    # arrows move, Escape closes it and gives the focus back; Tab or Shift+Tab closes it and goes
    # on as if it were not there; Space opens it, End and Enter mute.
    more = page.get_by_role("button", name="More actions for Bob Marley")
    await tab_to(page, more)
    await page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Actions for Bob Marley")
    items = menu.get_by_role("menuitem")
    await expect(items.first).to_be_focused()
    for index in range(await items.count()):  # out of the Tab order: the arrows move
        await expect(items.nth(index)).to_have_attribute("tabindex", "-1")
    await press(page, "ArrowDown")
    await expect(items.nth(1)).to_be_focused()
    await press(page, "ArrowUp")
    await press(page, "ArrowUp")
    await expect(items.last).to_be_focused()  # round to the end
    await page.keyboard.press("Escape")
    await expect(menu).to_have_count(0)
    await expect(more).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "false")
    await page.keyboard.press("Enter")
    await press(page, "ArrowDown")
    await press(page, "Tab")  # to Carol's entry, which follows Bob's (and its button)
    await expect(menu).to_have_count(0)
    await expect(page.get_by_test_id("conversation-item").nth(1)).to_be_focused()
    await expect(page.get_by_test_id("conversation-item").nth(1)).to_contain_text("Carol King")
    await press(page, "Shift+Tab")
    await expect(more).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(items.first).to_be_focused()
    await press(page, "Shift+Tab")  # to Bob's entry's link, before its button
    await expect(menu).to_have_count(0)
    await expect(bobs).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "false")
    await press(page, "Tab")
    await expect(more).to_be_focused()
    await page.keyboard.press(" ")
    await expect(items.first).to_be_focused()
    await press(page, "End")
    await expect(items.last).to_have_text("Until I unmute")
    await page.keyboard.press("Enter")
    await expect(menu).to_have_count(0)
    await expect(more).to_be_focused()
    await expect(bobs.get_by_test_id("muted-icon")).to_be_visible()

    # The open conversation's mute menu (Bob's DM, open since the message) is a menu too: its
    # items out of the Tab order, the arrows move, and Tab closes it and goes on from its button.
    mute = page.get_by_test_id("mute-button")
    await tab_to(page, mute)
    await press(page, "Tab")
    after_mute = await page.evaluate("document.activeElement.outerHTML")
    await press(page, "Shift+Tab")
    await expect(mute).to_be_focused()
    await page.keyboard.press("Enter")
    mute_menu = page.get_by_role("menu", name="Mute notifications")
    mute_items = mute_menu.get_by_role("menuitem")
    await expect(mute_items.first).to_be_focused()
    for index in range(await mute_items.count()):
        await expect(mute_items.nth(index)).to_have_attribute("tabindex", "-1")
    await press(page, "ArrowDown")
    await expect(mute_items.nth(1)).to_be_focused()
    await press(page, "End")
    await expect(mute_items.last).to_have_text("Unmute")  # muted from the sidebar above
    await press(page, "Tab")
    await expect(mute_menu).to_be_hidden()
    assert await page.evaluate("document.activeElement.outerHTML") == after_mute
    await expect(mute).to_have_attribute("aria-expanded", "false")


async def goes_round_inside(page: Page, dialog: Locator) -> None:
    """Tab once round the dialog and then some, and Shift+Tab back: the focus never leaves it."""
    count = await dialog.evaluate(
        """d => [...d.querySelectorAll("a[href], button, input, select, textarea, [tabindex]")]
          .filter(el => !el.disabled && el.tabIndex >= 0 && el.getClientRects().length).length"""
    )
    assert count > 0
    for key in ["Tab"] * (count + 2) + ["Shift+Tab"] * 3:
        await press(page, key)
        inside = await dialog.evaluate("d => d.contains(document.activeElement)")
        assert inside, f"{key} left the dialog for {await focused(page)}"


async def test_dialogs_keep_the_focus_and_give_it_back(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, _ = alice_bob_dm
    group = await alice.group("Book club", bob)
    await bob.send(group["id"], "Chapter 3 tonight")
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group['id']}")
    await expect(page.get_by_test_id("members-button")).to_be_visible()

    # Each dialog: reached and opened with the keyboard, Tab goes round inside, Escape closes
    # it and the focus is back on the button that opened it.
    for opener, dialog in [
        ("settings-button", "settings-dialog"),
        ("search-button", "search-dialog"),
        ("new-chat-button", "new-chat-dialog"),
        ("members-button", "members-panel"),
        ("message-sender", "profile-card"),
        ("mute-button", "mute-menu"),
        ("bell-button", "notification-panel"),
    ]:
        button = page.get_by_test_id(opener)
        await tab_to(page, button)
        await page.keyboard.press("Enter")
        opened = page.get_by_test_id(dialog)
        await expect(opened).to_be_visible()
        await expect(opened.locator(":focus")).to_have_count(1)  # the focus went in
        if await opened.evaluate("d => d.tagName === 'DIALOG'"):
            await goes_round_inside(page, opened)
        await page.keyboard.press("Escape")
        await expect(opened).to_be_hidden()
        await expect(button).to_be_focused()

"""The colour scheme: the device's preference by default, or the person's own choice, kept on
the server and applied live in every tab (Settings → Appearance)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import DESKTOP, PHONE, Browsing
from tests.e2e.test_layout import a_lively_account, shoot

pytestmark = pytest.mark.e2e

LIGHT_BG = "rgb(244, 245, 249)"
DARK_BG = "rgb(16, 18, 26)"


async def background(page: Page) -> str:
    return str(await page.evaluate("getComputedStyle(document.documentElement).backgroundColor"))


async def test_the_device_scheme_is_followed_until_a_choice_is_made_then_the_choice(
    browsing: Browsing, make_user
) -> None:
    alice = await make_user("alice", "Alice Liddell")
    night = await browsing.signed_in(alice)
    tab = await browsing.open_app(night)
    await tab.emulate_media(color_scheme="dark")
    assert await background(tab) == DARK_BG
    await tab.emulate_media(color_scheme="light")
    assert await background(tab) == LIGHT_BG
    other_tab = await browsing.open_app(night)
    await other_tab.emulate_media(color_scheme="light")

    # Chosen in one tab: both turn dark at once, whatever the device prefers.
    await tab.get_by_test_id("settings-button").click()
    await tab.get_by_role("radio", name="Dark").check()
    await expect(tab.locator("html")).to_have_attribute("data-theme", "dark")
    await expect(other_tab.locator("html")).to_have_attribute("data-theme", "dark")
    assert await background(other_tab) == DARK_BG
    await expect(tab.get_by_role("radio", name="Dark")).to_be_checked()
    bar = other_tab.locator('meta[name="theme-color"][data-scheme="dark"]')
    await expect(bar).to_have_attribute("media", "all")  # the browser's bar too

    # Kept: a new page is rendered dark from its first paint.
    fresh = await browsing.open_app(night)
    await expect(fresh.locator("html")).to_have_attribute("data-theme", "dark")
    assert (await alice.ok("GET", "/api/users/me/settings"))["theme"] == "dark"

    # Light, chosen, beats a dark device; "Same as this device" follows it again.
    await tab.get_by_role("radio", name="Light").check()
    await expect(other_tab.locator("html")).to_have_attribute("data-theme", "light")
    await other_tab.emulate_media(color_scheme="dark")
    assert await background(other_tab) == LIGHT_BG
    await tab.get_by_role("radio", name="Same as this device").check()
    await expect(other_tab.locator("html")).to_have_attribute("data-theme", "system")
    assert await background(other_tab) == DARK_BG


async def test_screens_in_dark_mode(browsing: Browsing, make_user) -> None:
    """The README's dark screenshots (artifacts/screenshots/*-dark.png)."""
    alice, _, group, _ = await a_lively_account(make_user)
    await alice.ok("PATCH", "/api/users/me/settings", {"theme": "dark"})
    for name, viewport in [("desktop", DESKTOP), ("phone", PHONE)]:
        page = await browsing.open_app(await browsing.signed_in(alice, viewport), f"/#/c/{group}")
        await expect(page.get_by_test_id("message-text").last).to_have_text("See you there!")
        photo = page.get_by_role("img", name="lake-loop.png")
        await page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=await photo.element_handle()
        )
        assert await background(page) == DARK_BG
        await shoot(page, f"{name}-conversation-dark")

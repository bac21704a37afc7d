"""A failed action says what failed, in one place: the page's error toasts (a form's own error
line, or a message's "Not sent", where the failure has a place of its own)."""

from __future__ import annotations

import pytest
from playwright.async_api import Route, expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e


async def test_a_failed_action_shows_a_toast_once(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    carol = await make_user("carol", "Carol King")
    await carol.ok("POST", "/api/friends/request", {"username": "alice"}, 201)
    page = await browsing.open_app(await browsing.signed_in(alice))

    async def busy(route: Route) -> None:
        await route.fulfill(
            status=503,
            json={
                "detail": "The database is busy. Try again in a moment.",
                "code": "database_busy",
            },
        )

    await page.route("**/api/notifications/read-all", busy)
    await page.get_by_test_id("bell-button").click()
    mark_all = page.get_by_role("button", name="Mark all read")
    await mark_all.click()
    toasts = page.get_by_test_id("error-toast")
    await expect(toasts).to_have_count(1)
    await expect(toasts).to_contain_text(
        "Couldn't mark the notifications read: The database is busy. Try again in a moment."
    )
    await expect(page.get_by_test_id("error-toasts")).to_have_attribute("aria-live", "assertive")
    # The same failure again refreshes its toast rather than stacking another.
    await expect(mark_all).to_be_enabled()
    await mark_all.click()
    await expect(toasts).to_have_count(1)
    await toasts.get_by_role("button", name="Dismiss").click()
    await expect(toasts).to_have_count(0)
    await expect(page.get_by_test_id("bell-badge")).to_have_text("1")  # nothing was marked

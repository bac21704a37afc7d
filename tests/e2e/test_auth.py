"""Sign up, sign out and sign in, with clear errors."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Browsing, expect_live

pytestmark = pytest.mark.e2e


async def test_sign_up_sign_out_and_sign_in(browsing: Browsing, make_user) -> None:
    await make_user("taken_name")
    context = await browsing.context()
    page = await context.new_page()

    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login$"))  # signed out: sent to sign in
    await page.get_by_test_id("to-register").click()
    await expect(page.get_by_role("heading", name="Create your account")).to_be_visible()

    await page.get_by_label("Username").fill("dora")
    await page.get_by_label("Password").fill("short")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_have_text("Passwords need at least 8 characters.")

    await page.get_by_label("Username").fill("taken_name")
    await page.get_by_label("Password").fill("a long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_contain_text("taken")

    await page.get_by_label("Username").fill("dora")
    await page.get_by_label("Display name").fill("Dora Explorer")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect_live(page)
    await expect(page.get_by_test_id("me-name")).to_have_text("Dora Explorer")
    await expect(page.get_by_test_id("me-username")).to_have_text("@dora")

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login$"))

    await page.get_by_label("Username").fill("dora")
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    await page.get_by_label("Password").fill("a long enough password")
    await page.get_by_label("Password").press("Enter")
    await expect(page).to_have_url(re.compile(r"/$"))
    await expect_live(page)
    await expect(page.get_by_test_id("me-name")).to_have_text("Dora Explorer")

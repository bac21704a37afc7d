"""Sessions end live: signing out on one device ends that device only; signing out everywhere
sends every other device's open tab to sign in, without anyone touching it (issue 9)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


async def test_signing_out_everywhere_signs_out_the_other_devices_open_tab(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, _bob, _dm = alice_bob_dm
    laptop = await browsing.open_app(await browsing.signed_in(alice))
    phone = await browsing.open_app(await browsing.signed_in(alice, PHONE))

    laptop.once("dialog", lambda dialog: dialog.accept())
    await laptop.get_by_role("button", name="Sign out everywhere").click()
    await expect(laptop).to_have_url(re.compile(r"/login$"))
    # Nobody touches the phone: its stream ends, its reconnect is refused, it shows sign-in.
    await expect(phone).to_have_url(re.compile(r"/login$"))


async def test_signing_out_on_one_device_leaves_the_other_live(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    laptop = await browsing.open_app(await browsing.signed_in(alice))
    phone_context = await browsing.signed_in(alice, PHONE)
    phone = await browsing.open_app(phone_context, f"/#/c/{dm}")

    await laptop.get_by_role("button", name="Sign out", exact=True).click()
    await expect(laptop).to_have_url(re.compile(r"/login$"))

    await bob.send(dm, "still there?")
    await expect(phone.get_by_test_id("message-list")).to_contain_text("still there?")
    await expect(phone).not_to_have_url(re.compile(r"/login$"))

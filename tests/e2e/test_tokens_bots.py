"""Access tokens and bots in the browser: a token made in the settings (its secret shown once)
posts through httpx and the message shows live in both people's tabs; revoking it there makes
the next request 401. A bot made in the settings, with a token made there too, posts in a group
and the members' tabs show the message live with the bot's badge."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Dialog, Locator, Page, expect

from tests.e2e.conftest import Browsing
from tests.support.api import ApiUser
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e


def accept_dialogs(page: Page) -> None:
    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)


def bearer(server: LiveServer, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30
    )


async def open_settings(page: Page) -> Locator:
    await page.get_by_test_id("settings-button").click()
    dialog = page.get_by_test_id("settings-dialog")
    await expect(dialog).to_be_visible()
    return dialog


async def make_token(panel: Locator, name: str, *, write: bool = True) -> str:
    """Fill ``panel``'s form (read and write unless told, 30 days), create; the secret shown."""
    await panel.get_by_label("Token name").fill(name)
    if write:
        await panel.get_by_test_id("token-scope-write").check()
    await panel.get_by_label("Expires after").select_option(label="30 days")
    await panel.get_by_test_id("token-create").click()
    box = panel.get_by_test_id("token-secret")
    await expect(box).to_be_visible()
    await expect(box).to_contain_text("you won't see it again")
    value = box.get_by_test_id("token-secret-value")
    await expect(value).to_have_value(re.compile(r"^tdg_"))
    secret = await value.input_value()
    await box.get_by_test_id("token-secret-copy").click()
    await expect(box.get_by_test_id("token-secret-copied")).to_have_text(
        re.compile(r"Copied\.|copy it yourself")
    )
    await box.get_by_test_id("token-secret-done").click()
    await expect(box).to_be_hidden()
    return secret


def message(page: Page, text: str) -> Locator:
    return page.get_by_test_id("message").filter(has_text=text)


async def test_a_token_made_in_settings_posts_live_and_revoking_it_refuses_the_next_call(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    accept_dialogs(a)

    settings = await open_settings(a)
    panel = settings.get_by_test_id("settings-token-panel")
    await expect(panel.get_by_test_id("token-empty")).to_be_visible()
    # No name: said in place, nothing made.
    await panel.get_by_test_id("token-create").click()
    await expect(panel.get_by_test_id("token-error")).to_contain_text("name")
    secret = await make_token(panel, "deploy script")
    token = panel.get_by_test_id("token")
    await expect(token).to_have_count(1)
    await expect(token.get_by_test_id("token-label")).to_have_text("deploy script")
    await expect(token.get_by_test_id("token-scopes")).to_have_text("Read and write")
    hint = (await token.get_by_test_id("token-hint").inner_text()).rstrip("…")
    assert secret.startswith(hint) and len(hint) < len(secret)
    await expect(token.get_by_test_id("token-dates")).to_contain_text("never used")
    await expect(token.get_by_test_id("token-dates")).to_contain_text(
        re.compile(r"expires in (29|30) days")
    )
    # The secret is not kept anywhere on the page once the box is closed.
    assert secret not in await a.content()
    await settings.get_by_test_id("settings-close").click()

    async with bearer(server, secret) as script:
        sent = await script.post(
            f"/api/conversations/{dm}/messages", json={"content": "Deployed v2 from a script"}
        )
        assert sent.status_code == 201, sent.text
        for page in (a, b):
            await expect(message(page, "Deployed v2 from a script")).to_be_visible()
        await expect(message(b, "Deployed v2 from a script").locator(".avatar")).to_have_text("AL")

        settings = await open_settings(a)
        panel = settings.get_by_test_id("settings-token-panel")
        await expect(panel.get_by_test_id("token-dates")).to_contain_text("last used")
        await panel.get_by_test_id("token").get_by_role("button", name="Revoke").click()
        await expect(panel.get_by_test_id("token")).to_have_count(0)
        await expect(panel.get_by_test_id("token-empty")).to_be_visible()
        refused = await script.post(
            f"/api/conversations/{dm}/messages", json={"content": "after revoking"}
        )
        assert refused.status_code == 401, refused.text
    await expect(a.get_by_test_id("error-toast")).to_have_count(0)


async def test_a_read_token_made_in_settings_cannot_post(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, _bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    panel = (await open_settings(a)).get_by_test_id("settings-token-panel")
    secret = await make_token(panel, "reader", write=False)
    await expect(panel.get_by_test_id("token-scopes")).to_have_text("Read only")
    async with bearer(server, secret) as script:
        assert (await script.get(f"/api/conversations/{dm}/messages")).status_code == 200
        refused = await script.post(f"/api/conversations/{dm}/messages", json={"content": "x"})
        assert refused.status_code == 403, refused.text

"""Access tokens and bots in the browser: a token made in the settings (its secret shown once)
posts through httpx and the message shows live in both people's tabs; revoking it there makes
the next request 401. A bot made in the settings, with a token made there too, posts in a group
and the members' tabs show the message live with the bot's badge. A bot's webhook set there
shows its secret once and its delivery log (a failed attempt, then the delivery)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Dialog, Locator, Page, expect

from tests.e2e.conftest import Browsing
from tests.support.server import LiveServer
from tests.webhooks.support import Receiver

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


async def make_bot(settings: Locator, username: str, display_name: str) -> tuple[Locator, int]:
    """Create a bot in the settings; its row (opened on its tokens and webhook) and its id."""
    bots = settings.get_by_test_id("settings-bots")
    await bots.get_by_label("Bot username").fill(username)
    await bots.get_by_label("Name people see").fill(display_name)
    await bots.get_by_test_id("bot-create").click()
    row = bots.get_by_test_id("bot").filter(has_text=f"@{username}")
    await expect(row.get_by_test_id("bot-name")).to_have_text(f"{display_name}BOT")
    await expect(row.get_by_test_id("bot-badge")).to_have_attribute("aria-label", "bot")
    await expect(row.get_by_test_id("bot-tokens")).to_be_visible()
    return row, int(await row.get_attribute("data-bot-id") or 0)


async def open_group(page: Page, name: str) -> None:
    await page.get_by_test_id("conversation-item").filter(has_text=name).click()
    await expect(page.get_by_test_id("conversation-title")).to_have_text(name)


async def test_a_bot_made_in_settings_posts_in_a_group_and_members_see_it_live_with_its_badge(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, _dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice))
    b = await browsing.open_app(await browsing.signed_in(bob))
    accept_dialogs(a)

    settings = await open_settings(a)
    await expect(settings.get_by_test_id("bot-empty")).to_be_visible()
    row, bot_id = await make_bot(settings, "reminder", "Reminder")
    secret = await make_token(row.get_by_test_id("bot-tokens"), "reminder's token")
    await expect(row.get_by_test_id("bot-tokens").get_by_test_id("token")).to_have_count(1)
    # Its tokens are its own, not its owner's.
    await expect(
        settings.get_by_test_id("settings-token-panel").get_by_test_id("token")
    ).to_have_count(0)
    await settings.get_by_test_id("settings-close").click()

    # The bot is its owner's friend: the Friends view shows it with its badge.
    await a.get_by_test_id("nav-friends").click()
    friend = a.get_by_test_id("friend-item").filter(has_text="@reminder")
    await expect(friend.get_by_test_id("bot-badge")).to_be_visible()
    await expect(friend.locator(".person-names")).to_have_accessible_name(
        re.compile(r"^Reminder\s*bot\s*@reminder")
    )
    await a.get_by_test_id("nav-chats").click()

    group = await alice.ok(
        "POST",
        "/api/conversations",
        {"type": "group", "name": "Standup", "member_ids": [bob.id, bot_id]},
        201,
    )
    for page in (a, b):
        await open_group(page, "Standup")
    async with bearer(server, secret) as script:
        me = await script.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["user"]["bot"] is True
        sent = await script.post(
            f"/api/conversations/{group['id']}/messages", json={"content": "Standup in 5 minutes"}
        )
        assert sent.status_code == 201, sent.text
    for page in (a, b):
        posted = message(page, "Standup in 5 minutes")
        await expect(posted).to_be_visible()
        sender = posted.get_by_test_id("message-sender")
        await expect(sender).to_have_text("ReminderBOT")
        await expect(sender.get_by_test_id("bot-badge")).to_have_attribute("aria-label", "bot")
        await expect(sender).to_have_accessible_name(re.compile(r"^Reminder\s*bot$"))
    # Members and the profile card say so too; people who are not bots have no badge.
    await b.get_by_test_id("members-button").click()
    member = b.get_by_test_id("member").filter(has_text="@reminder")
    await expect(member.get_by_test_id("bot-badge")).to_be_visible()
    await expect(b.get_by_test_id("member").get_by_test_id("bot-badge")).to_have_count(1)
    await b.keyboard.press("Escape")
    await message(b, "Standup in 5 minutes").get_by_test_id("message-sender").click()
    card = b.get_by_test_id("profile-card")
    await expect(card.get_by_test_id("bot-badge")).to_be_visible()
    await b.keyboard.press("Escape")
    # ...and so do the composer's mention suggestions.
    await b.get_by_role("textbox", name="Message").fill("@re")
    suggested = b.get_by_test_id("mention-option")
    await expect(suggested).to_have_count(1)
    await expect(suggested.get_by_test_id("bot-badge")).to_be_visible()
    await b.get_by_role("textbox", name="Message").fill("")

    # Deleting the bot: its token is refused, its message stays from "Deleted user".
    settings = await open_settings(a)
    row = settings.get_by_test_id("bot").filter(has_text="@reminder")
    await row.get_by_test_id("bot-delete").click()
    await expect(settings.get_by_test_id("bot")).to_have_count(0)
    async with bearer(server, secret) as script:
        assert (await script.get("/api/auth/me")).status_code == 401
    sender = message(b, "Standup in 5 minutes").get_by_test_id("message-sender")
    await expect(sender).to_have_text("Deleted user")


@pytest.mark.settings(webhook_allow_private_addresses=True, webhook_retry_base_seconds=0.05)
async def test_a_bots_webhook_set_in_settings_shows_its_secret_once_and_its_deliveries(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, _bob, _dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice))
    accept_dialogs(a)
    settings = await open_settings(a)
    row, bot_id = await make_bot(settings, "hooky", "Hooky")
    hook = row.get_by_test_id("bot-webhook")
    await expect(hook.get_by_test_id("webhook-status")).to_contain_text("No webhook")
    await expect(hook.get_by_test_id("webhook-remove")).to_be_hidden()

    async with Receiver(fail_first=1) as receiver:
        await hook.get_by_label("URL to POST events to").fill(receiver.url)
        await hook.get_by_test_id("webhook-save").click()
        box = hook.get_by_test_id("webhook-secret")
        await expect(box).to_contain_text("you won't see it again")
        secret = await box.get_by_test_id("webhook-secret-value").input_value()
        assert secret
        await expect(hook.get_by_test_id("webhook-status")).to_have_text("Delivering: no failures.")
        await box.get_by_test_id("webhook-secret-done").click()
        await expect(box).to_be_hidden()

        # Alice writes to her bot: the first delivery is refused, then each event is delivered,
        # signed with the secret shown.
        dm = await alice.ok(
            "POST", "/api/conversations", {"type": "direct", "user_id": bot_id}, 201
        )
        await alice.send(dm["id"], "ping")

        def pinged(r: Receiver) -> bool:
            return any(a.payload["type"] == "message" for a in r.accepted)

        await receiver.wait_until(pinged)
        payloads = [received.verify(secret) for received in receiver.accepted]
        [ping] = [p for p in payloads if p["type"] == "message"]
        assert ping["data"]["message"]["content"] == "ping"

        await hook.get_by_test_id("webhook-refresh").click()
        rows = hook.get_by_test_id("webhook-delivery")
        await expect(rows).to_have_count(len(receiver.requests))
        latest = rows.nth(0)  # newest first
        await expect(latest).to_contain_text(f"message #{ping['id']}")
        await expect(latest.locator("td").last).to_have_text(re.compile(r"^200 in \d+ ms$"))
        await expect(rows.filter(has_text="Failed: 500")).to_have_count(1)
        await expect(hook.get_by_test_id("webhook-last")).to_contain_text("200 in")

        await hook.get_by_test_id("webhook-remove").click()
        await expect(hook.get_by_test_id("webhook-status")).to_contain_text("No webhook")
        await expect(hook.get_by_test_id("webhook-deliveries")).to_be_hidden()

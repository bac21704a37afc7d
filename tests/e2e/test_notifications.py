"""Browser notifications (issue 14): with every tab of the browser hidden, a new message or
notification raises exactly one system notification, raised by the tab that holds the stream,
however many tabs are open; none while a tab is visible, none for a muted conversation but for a
mention of you; the settings turn them off in every tab; the permission is asked from a click.

Headless Chromium reports every page visible: tests/e2e/attention.py's init script lets a test
hide them, and records the notifications raised (the real ones are still made).
"""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from tests.e2e.attention import hide, raised, show, with_hooks
from tests.e2e.conftest import Browsing
from tests.support.server import LiveServer

pytestmark = pytest.mark.e2e


async def preview_shown(page: Page, text: str) -> None:
    """``page`` has handled the message ``text`` (its entry's preview shows it): the tab that
    raises a notification does so in the same turn as it draws the entry."""
    await expect(page.get_by_test_id("conversation-preview").filter(has_text=text)).to_have_count(1)


async def test_a_message_with_every_tab_hidden_raises_one_notification(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    context = await with_hooks(await browsing.signed_in(bob), server.url)
    tab = await browsing.open_app(context)
    await hide(tab)

    await alice.send(dm, "Are you there?")
    await preview_shown(tab, "Are you there?")
    assert await raised(tab) == [
        {"title": "Alice Liddell", "body": "Are you there?", "tag": f"tidings-c{dm}"}
    ]
    # Our own message raises nothing; the next from Alice raises one more (same tag: the
    # system shows it in place of the first).
    await bob.send(dm, "yes")
    await preview_shown(tab, "You: yes")
    await alice.send(dm, "Great")
    await preview_shown(tab, "Great")
    assert [n["body"] for n in await raised(tab)] == ["Are you there?", "Great"]

    # Clicking it opens the conversation in the tab that raised it.
    await tab.goto("/#/friends")
    await expect(tab.get_by_test_id("friends-view")).to_be_visible()
    await alice.send(dm, "Click me")
    await preview_shown(tab, "Click me")
    assert [n["body"] for n in await raised(tab)] == ["Are you there?", "Great", "Click me"]
    await tab.evaluate("window.__notificationObjects.at(-1).dispatchEvent(new Event('click'))")
    await expect(tab).to_have_url(f"{server.url}/#/c/{dm}")
    await expect(tab.get_by_test_id("message-text").last).to_have_text("Click me")


async def test_two_hidden_tabs_raise_one_notification_and_a_visible_tab_none(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    context = await with_hooks(await browsing.signed_in(bob), server.url)
    tab1 = await browsing.open_app(context)
    tab2 = await browsing.open_app(context)
    await hide(tab1, tab2)

    await alice.send(dm, "One for two tabs")
    for tab in (tab1, tab2):
        await preview_shown(tab, "One for two tabs")
    counts = [len(await raised(tab)) for tab in (tab1, tab2)]
    assert sorted(counts) == [0, 1], counts
    leader = tab1 if counts[0] else tab2
    assert await leader.get_by_test_id("connection-status").get_attribute("data-role") == "leader"

    # One tab visible (not the leader): nothing is raised.
    follower = tab2 if leader is tab1 else tab1
    await show(follower)
    await expect(leader.locator("html")).to_have_attribute("data-visible-tabs", "1")
    await alice.send(dm, "You're looking")
    for tab in (tab1, tab2):
        await preview_shown(tab, "You're looking")
    assert [len(await raised(tab)) for tab in (leader, follower)] == [1, 0]

    # The leader closes: the other tab takes the stream, and raises the next one itself.
    await hide(follower)
    await leader.close()
    await expect(follower.get_by_test_id("connection-status")).to_have_attribute(
        "data-role", "leader"
    )
    await expect(follower.get_by_test_id("connection-status")).to_have_attribute(
        "data-state", "connected"
    )
    await expect(follower.locator("html")).to_have_attribute("data-visible-tabs", "0")
    await alice.send(dm, "Still there?")
    await preview_shown(follower, "Still there?")
    assert [n["body"] for n in await raised(follower)] == ["Still there?"]


async def test_friend_requests_notify_and_the_settings_turn_notifications_off(
    browsing: Browsing, server: LiveServer, make_user
) -> None:
    bob = await make_user("bob", "Bob Marley")
    carol = await make_user("carol", "Carol King")
    dan = await make_user("dan", "Dan Brown")
    context = await with_hooks(await browsing.signed_in(bob), server.url)
    tab = await browsing.open_app(context)
    other = await browsing.open_app(context)
    await hide(tab, other)

    await carol.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    for page in (tab, other):
        await expect(page.get_by_test_id("bell-badge")).to_have_text("1")
    found = await raised(tab) + await raised(other)
    assert [(n["title"], n["body"]) for n in found] == [("Carol King", "wants to be your friend")]

    # Desktop notifications off, in the settings of one tab: no tab raises any more.
    await show(tab)
    await tab.get_by_test_id("settings-button").click()
    switch = tab.get_by_test_id("settings-desktop-notifications")
    await expect(switch).to_be_checked()
    await expect(tab.get_by_test_id("settings-permission")).to_have_attribute(
        "data-permission", "granted"
    )
    await expect(tab.get_by_test_id("settings-allow-notifications")).to_be_hidden()
    await switch.uncheck()
    await expect(switch).to_be_enabled()
    await expect(switch).not_to_be_checked()
    await tab.get_by_test_id("settings-close").click()
    settings = await bob.ok("GET", "/api/users/me/settings")
    assert settings["desktop_notifications"] is False
    # The other tab heard it too (`settings_updated`): its dialog shows it off.
    await other.get_by_test_id("settings-button").click()
    await expect(other.get_by_test_id("settings-desktop-notifications")).not_to_be_checked()
    await other.get_by_test_id("settings-close").click()
    await hide(tab, other)
    await dan.ok("POST", "/api/friends/request", {"username": "bob"}, 201)
    for page in (tab, other):
        await expect(page.get_by_test_id("bell-badge")).to_have_text("2")
    assert len(await raised(tab) + await raised(other)) == 1


async def test_a_sound_plays_with_it_unless_turned_off(
    browsing: Browsing, server: LiveServer, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    context = await with_hooks(await browsing.signed_in(bob), server.url)
    tab = await browsing.open_app(context)
    await tab.keyboard.press("Shift")  # browsers start audio only after the person did something
    await hide(tab)
    await alice.send(dm, "Ding")
    await preview_shown(tab, "Ding")
    assert await tab.evaluate("window.__tones") == 1

    await bob.ok("PATCH", "/api/users/me/settings", {"notification_sound": False})
    await show(tab)
    await tab.get_by_test_id("settings-button").click()
    await expect(tab.get_by_test_id("settings-notification-sound")).not_to_be_checked()
    await tab.get_by_test_id("settings-close").click()
    await hide(tab)
    await alice.send(dm, "Silent")
    await preview_shown(tab, "Silent")
    assert [n["body"] for n in await raised(tab)] == ["Ding", "Silent"]
    assert await tab.evaluate("window.__tones") == 1


async def test_the_permission_is_asked_from_a_click_never_on_load(
    browsing: Browsing, server: LiveServer, make_user
) -> None:
    bob = await make_user("bob", "Bob Marley")
    context = await browsing.signed_in(bob)  # no permission granted: the browser would ask
    await context.add_init_script(
        """
        window.__asked = 0;
        const ask = Notification.requestPermission.bind(Notification);
        Notification.requestPermission = (...args) => { window.__asked += 1; return ask(...args); };
        """
    )
    tab = await browsing.open_app(context)
    await tab.get_by_test_id("settings-button").click()
    permission = tab.get_by_test_id("settings-permission")
    await expect(permission).to_have_attribute("data-permission", "default")
    assert await tab.evaluate("window.__asked") == 0
    await tab.get_by_test_id("settings-allow-notifications").click()
    # Headless Chromium answers the prompt itself (denied, not granted): either way, asked once.
    await expect(permission).not_to_have_attribute("data-permission", "default")
    assert await tab.evaluate("window.__asked") == 1

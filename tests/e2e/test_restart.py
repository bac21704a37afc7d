"""Reconnecting: after a server restart the page resumes and shows what it missed; when what
it missed is gone from the server's log, it refetches its state. Never a reload."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import Browsing
from tests.support.api import PASSWORD, ApiUser
from tests.support.server import LiveServer, ServerProcess
from tests.support.settings import FAST_HASHING
from tidings.realtime import log

pytestmark = pytest.mark.e2e


async def test_page_reconnects_after_a_restart_and_shows_what_was_sent_meanwhile(
    browser: Browser, tmp_path: Path
) -> None:
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'tidings.db'}",
        "LOG_LEVEL": "warning",
        **{key.upper(): str(value) for key, value in FAST_HASHING.items()},
    }
    log = tmp_path / "server.log"
    first = ServerProcess(env, log=log)
    await first.start()
    alice = await ApiUser(first.url, "alice").register("Alice Liddell")
    bob = await ApiUser(first.url, "bob").register("Bob Marley")
    browsing = Browsing(browser, first.url)
    restarted: ServerProcess | None = None
    try:
        await alice.befriend(bob)
        dm = (await alice.dm(bob))["id"]
        await alice.send(dm, "Before the restart")
        page = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
        await expect(page.get_by_test_id("message-text").last).to_have_text("Before the restart")
        await page.evaluate("window.sameDocument = true")
        status = page.get_by_test_id("connection-status")

        first.terminate()  # SIGTERM: streams end cleanly, the process exits
        await first.wait()
        await expect(status).to_have_attribute("data-state", "reconnecting")

        # Meanwhile Alice writes, through another server process on the same database.
        other = ServerProcess(env, log=log)
        await other.start()
        try:
            alice_elsewhere = ApiUser(other.url, "alice")
            await alice_elsewhere.ok(
                "POST", "/api/auth/login", {"username": "alice", "password": PASSWORD}
            )
            await alice_elsewhere.send(dm, "Sent while you were away")
            await alice_elsewhere.aclose()
        finally:
            other.terminate()
            await other.wait()
        await expect(page.get_by_text("Sent while you were away")).to_have_count(0)

        restarted = ServerProcess(env, port=first.port, log=log)  # same address, same file
        await restarted.start()
        await expect(status).to_have_attribute("data-state", "connected", timeout=30_000)
        await expect(page.get_by_test_id("message-text")).to_have_text(
            ["Before the restart", "Sent while you were away"]
        )
        await expect(page.get_by_test_id("unread-badge")).to_have_text("1")
        assert await page.evaluate("window.sameDocument") is True  # no reload happened

        # And it is live again.
        await alice.send(dm, "Welcome back")
        await expect(page.get_by_test_id("message-text").last).to_have_text("Welcome back")
    except BaseException:
        await browsing.screenshot_all("test_restart")
        raise
    finally:
        await browsing.close()
        for user in (alice, bob):
            await user.aclose()
        for process in (first, restarted):
            if process is not None:
                process.terminate()
                await process.wait()
    assert not browsing.problems, browsing.problems


async def test_page_refetches_its_state_when_what_it_missed_was_pruned(
    browsing: Browsing, alice_bob_dm, server: LiveServer
) -> None:
    alice, bob, dm = alice_bob_dm
    await alice.send(dm, "First")
    context = await browsing.signed_in(bob)
    page = await browsing.open_app(context, f"/#/c/{dm}")
    other_tab = await browsing.open_app(context)
    await page.evaluate("window.sameDocument = true")
    status = page.get_by_test_id("connection-status")

    # The browser goes offline and its stream drops; events happen that it does not hear.
    await context.set_offline(True)
    server.ctx.hub.close_all("test")
    await expect(status).to_have_attribute("data-state", "offline")
    await expect(other_tab.get_by_test_id("connection-status")).to_have_attribute(
        "data-state", "offline"
    )
    await alice.send(dm, "Second")
    await alice.send(dm, "Third")
    # ...and they leave the server's event log (as after the retention window).
    async with server.ctx.db.write() as session:
        assert await session.run_sync(log.prune_events, max_age=timedelta(0))

    refetches: list[str] = []
    context.on("request", lambda r: refetches.append(r.url) if "/api/bootstrap" in r.url else None)
    await context.set_offline(False)  # reconnects at once, gets `resync`, refetches
    await expect(status).to_have_attribute("data-state", "connected")
    await expect(page.get_by_test_id("message-text")).to_have_text(["First", "Second", "Third"])
    await expect(other_tab.get_by_test_id("unread-badge")).to_have_text("2")
    assert await page.evaluate("window.sameDocument") is True
    assert len(refetches) == 2  # each tab fetched its state again

    await alice.send(dm, "Fourth")  # and live again, in both tabs
    await expect(page.get_by_test_id("message-text").last).to_have_text("Fourth")
    await expect(other_tab.get_by_test_id("unread-badge")).to_have_text("3")

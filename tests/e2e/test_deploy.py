"""A rolling deploy: a page of one release, its files from a process of another."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Response, Route, expect

from tests.e2e.conftest import Browsing, expect_live
from tests.support.server import LiveServer
from tests.web.test_releases import another_release
from tidings.web.assets import manifest
from tidings.web.releases import publish_release

pytestmark = pytest.mark.e2e


async def test_a_page_of_the_other_release_starts_and_works_during_a_rolling_deploy(
    browsing: Browsing, server: LiveServer, alice_bob_dm, tmp_path: Path
) -> None:
    """Alice opens the app while processes of two releases serve it: her page comes from a
    process of the previous release, so it names that release's files, and every file comes from
    this process (of the new release), which has them from the database. The app starts, and
    her message goes."""
    alice, bob, dm = alice_bob_dm
    previous = another_release(tmp_path)
    await publish_release(server.ctx.db, previous, keep=3)  # as its processes did when they started
    current = manifest()
    renamed = {
        current.url(path): previous.url(path)
        for path in current.assets
        if current.url(path) != previous.url(path)
    }
    assert len(renamed) > 1

    async def page_of_the_previous_release(route: Route) -> None:
        response = await route.fetch()
        html = await response.text()
        for url, previous_url in renamed.items():
            html = html.replace(url, previous_url)
        await route.fulfill(response=response, body=html)

    served: dict[str, int] = {}

    def note(response: Response) -> None:
        path = response.url.removeprefix(server.url)
        if path in renamed.values():
            served[path] = response.status

    context = await browsing.signed_in(alice)
    await context.route(f"{server.url}/", page_of_the_previous_release)
    page = await context.new_page()
    page.on("response", note)
    await page.goto(f"/#/c/{dm}")
    await expect_live(page)
    assert served and set(served.values()) == {200}, served
    assert previous.url("js/app.js") in served

    composer = page.get_by_role("textbox", name="Message")
    await composer.fill("Sent during the deploy")
    await composer.press("Enter")
    await expect(page.get_by_test_id("message-text")).to_have_text(["Sent during the deploy"])
    await expect(page.locator("[data-pending]")).to_have_count(0)
    history = await bob.ok("GET", f"/api/conversations/{dm}/messages")
    assert [m["content"] for m in history["messages"]] == ["Sent during the deploy"]

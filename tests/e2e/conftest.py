"""Browser fixtures: one Debian Chromium per session, a browser context per person.

Every page is watched for uncaught script errors and Content-Security-Policy violations, which
fail the test; a failing test leaves a screenshot of each of its pages in artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Frame,
    Page,
    Request,
    Response,
    async_playwright,
    expect,
)

from tests.support.api import PASSWORD, ApiUser
from tests.support.server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

expect.set_options(timeout=10_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


class Browsing:
    """Opens browser contexts (one per person) and pages, and checks them when the test ends."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []
        self.pages: list[Page] = []
        self.problems: list[str] = []

    async def context(self, viewport: dict[str, int] | None = None) -> BrowserContext:
        context = await self.browser.new_context(
            viewport=viewport or DESKTOP, base_url=self.base_url
        )
        context.set_default_timeout(10_000)
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def _watch(self, page: Page) -> None:
        self.pages.append(page)
        tab = f"tab {len(self.pages)}"
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

        def console(message) -> None:
            print(f"{tab} console.{message.type}: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text:
                self.problems.append(f"CSP violation: {message.text}")

        # What the page did, in the test's captured output (shown when it fails): its console,
        # its navigations and its requests that failed or were answered with an error.
        def navigated(frame: Frame) -> None:
            if frame == page.main_frame:
                print(f"{tab} at {frame.url}")

        def answered(response: Response) -> None:
            if response.status >= 400:
                print(f"{tab} {response.request.method} {response.url}: {response.status}")

        def failed(request: Request) -> None:
            print(f"{tab} {request.method} {request.url} failed: {request.failure}")

        page.on("console", console)
        page.on("framenavigated", navigated)
        page.on("response", answered)
        page.on("requestfailed", failed)

    async def signed_in(self, user: ApiUser, viewport: dict[str, int] | None = None):
        """A browser context holding ``user``'s session (signed in through the API)."""
        context = await self.context(viewport)
        response = await context.request.post(
            "/api/auth/login", data={"username": user.username, "password": PASSWORD}
        )
        assert response.ok, await response.text()
        return context

    async def open_app(self, context: BrowserContext, path: str = "/") -> Page:
        """A new tab on the app, loaded and live."""
        page = await context.new_page()
        await page.goto(path)
        await expect_live(page)
        return page

    async def screenshot_all(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(self.pages):
            if not page.is_closed():
                await page.screenshot(path=SCREENSHOTS / f"failed-{name}-{index}.png")

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


async def expect_live(page: Page) -> None:
    """The app has its snapshot and hears the stream (directly or through the leader tab)."""
    await expect(page.locator("#app")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_test_id("connection-status")).to_have_attribute(
        "data-state", "connected"
    )


@pytest.fixture
async def browsing(
    browser: Browser, server: LiveServer, request: pytest.FixtureRequest
) -> AsyncIterator[Browsing]:
    session = Browsing(browser, server.url)
    yield session
    if request.node.stash.get(FAILED, False):
        await session.screenshot_all(re.sub(r"\W+", "-", request.node.name))
    await session.close()
    assert not session.problems, session.problems


@pytest.fixture
async def alice_bob_dm(make_user) -> tuple[ApiUser, ApiUser, int]:
    """Alice and Bob, friends, and the id of their DM (the setup most browser tests share)."""
    alice = await make_user("alice", "Alice Liddell")
    bob = await make_user("bob", "Bob Marley")
    await alice.befriend(bob)
    return alice, bob, (await alice.dm(bob))["id"]

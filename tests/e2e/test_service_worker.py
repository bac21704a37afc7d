"""The service worker's own requests: what it fetches to keep the app openable offline."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.async_api import Request, expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e

# The page tells the worker once more that it is open, and waits for its answer: whatever the
# worker was preparing meanwhile is done by then.
TOLD_AGAIN = """() => new Promise((resolve) => {
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.kind === "offline-ready") resolve(event.data.ready);
  });
  navigator.serviceWorker.controller.postMessage({ kind: "app-opened", controlled: true });
})"""


async def test_a_first_visit_keeps_the_app_page_with_one_fetch(
    browsing: Browsing, alice_bob_dm
) -> None:
    """On a first visit the page tells the new worker it is open twice (when it is ready, and
    when it takes control): the worker fetches the page to keep once, not once per message."""
    alice, _bob, _dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    worker_fetches: list[str] = []

    def note(request: Request) -> None:
        if request.service_worker is not None and urlparse(request.url).path == "/":
            worker_fetches.append(request.url)

    context.on("request", note)
    page = await browsing.open_app(context)
    await expect(page.locator("body")).to_have_attribute("data-offline-ready", "true")
    assert await page.evaluate(TOLD_AGAIN) is True
    assert len(worker_fetches) == 1


async def test_chromium_finds_the_app_installable(browsing: Browsing, alice_bob_dm) -> None:
    """The browser's own installability check (what makes it offer "Install Tidings"): the
    manifest, its icons, the service worker controlling the page."""
    alice, _bob, _dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context)
    await expect(page.locator("body")).to_have_attribute("data-offline-ready", "true")
    cdp = await context.new_cdp_session(page)
    answer = await cdp.send("Page.getInstallabilityErrors")
    # Playwright's browser contexts are incognito, where Chromium never offers to install:
    # that is the one error allowed (a page without a manifest also gets "no-manifest", ...).
    errors = [e["errorId"] for e in answer["installabilityErrors"]]
    assert errors == ["in-incognito"]
    manifest = await cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith("/manifest.webmanifest")

"""Test hooks for system notifications in Chromium (tests/e2e/test_notifications.py,
test_mute_block.py).

Headless pages always report themselves visible, and the tests need every tab hidden: the init
script ``HOOKS`` makes ``document.visibilityState`` (and ``document.hidden``) answer what
``window.__testSetHidden(bool)`` last set, firing ``visibilitychange`` as a browser does. It also
wraps ``window.Notification`` so each system notification raised is recorded in
``window.__notifications`` (title, body, tag) while the real one is still made, and kept in
``window.__notificationObjects`` (a test clicks one by dispatching ``click`` on it: a headless
browser shows none to click); ``window.__tones`` counts the notification sounds played.
"""

from __future__ import annotations

from typing import Any

from playwright.async_api import BrowserContext, Page, expect

HOOKS = """
(() => {
  let hidden = false;
  const state = () => (hidden ? "hidden" : "visible");
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: state });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => hidden });
  window.__testSetHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.__tones = 0;
  const oscillator = BaseAudioContext.prototype.createOscillator;
  BaseAudioContext.prototype.createOscillator = function (...args) {
    window.__tones += 1;
    return oscillator.apply(this, args);
  };
  window.__notifications = [];
  window.__notificationObjects = [];
  const Real = window.Notification;
  if (typeof Real !== "function") return;
  class Recorded extends Real {
    constructor(title, options = {}) {
      super(title, options);
      window.__notifications.push({ title, body: options.body ?? "", tag: options.tag ?? "" });
      window.__notificationObjects.push(this);
    }
  }
  window.Notification = Recorded;
})();
"""


async def with_hooks(context: BrowserContext, origin: str) -> BrowserContext:
    """``context`` with the notification permission granted for ``origin`` and the hooks."""
    await context.grant_permissions(["notifications"], origin=origin)
    await context.add_init_script(HOOKS)
    return context


async def hide(*pages: Page) -> None:
    """Every page hidden; each of them knows that no tab of its browser is visible."""
    for page in pages:
        await page.evaluate("window.__testSetHidden(true)")
    for page in pages:
        await expect(page.locator("html")).to_have_attribute("data-visible-tabs", "0")


async def show(page: Page) -> None:
    await page.evaluate("window.__testSetHidden(false)")


async def raised(page: Page) -> list[dict[str, Any]]:
    """The system notifications ``page`` raised so far."""
    notifications = await page.evaluate("window.__notifications")
    assert isinstance(notifications, list)
    return notifications

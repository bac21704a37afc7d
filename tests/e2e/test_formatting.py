"""Message formatting (format.js) and @mention autocomplete (views/mentions.js) in Chromium, in
the app's own page (its CSP): hostile messages render inert, formatting builds the expected
elements, and the autocomplete on the real composer chooses with the keyboard and the mouse
without taking Enter from the composer when it is closed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import Browsing

pytestmark = pytest.mark.e2e

HOSTILE = [
    "<img src=x onerror=\"window.pwned = 'img'\">",
    "<script>window.pwned = 'script'</script>",
    "<a href=\"javascript:window.pwned='a'\">click</a>",
    "javascript:window.pwned='bare'",
    "JavaScript:window.pwned='case'",
    "[x](javascript:alert(1))",
    "[x](javascript:window.pwned='md')",
    "[https://ok.example](javascript:window.pwned='md2')",
    "*<img src=x onerror=\"window.pwned='bold'\">*",
    "`<img src=x onerror=\"window.pwned='code'\">`",
    "```html\n<img src=x onerror=\"window.pwned='block'\">\n```",
    'https://example.com/"><img src=x onerror="window.pwned=\'url\'">',
    "https://example.com/\" onmouseover=\"window.pwned='attr'",
    "data:text/html,<script>window.pwned='data'</script>",
    "<svg onload=\"window.pwned='svg'\"></svg>",
    "@alice<img src=x onerror=\"window.pwned='mention'\">",
    "<iframe src=\"javascript:window.pwned='iframe'\"></iframe>",
]

# Renders each message into its own item of a container in the page (a bubble, as a message is
# shown), and reports what came out of it.
RENDER = """async ({ messages, members, me }) => {
  const { renderMessage } = await import("/static/js/format.js");
  const list = document.createElement("ol");
  list.dataset.testid = "rendered";
  for (const message of messages) {
    const li = document.createElement("li");
    li.className = "msg";
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.dataset.testid = "rendered-message";
    bubble.append(renderMessage(message, { members, me }));
    li.append(bubble);
    list.append(li);
  }
  document.body.append(list);
  return [...list.querySelectorAll("[data-testid=rendered-message]")].map((el) => el.textContent);
}"""

UNSAFE = """(root) => {
  const found = [];
  for (const el of root.querySelectorAll("*")) {
    for (const attr of el.getAttributeNames()) {
      if (attr.toLowerCase().startsWith("on")) found.push(`${el.tagName} ${attr}`);
    }
    if (el.tagName === "A" && !/^https?:\\/\\//.test(el.getAttribute("href") ?? "")) {
      found.push(`link ${el.getAttribute("href")}`);
    }
  }
  return found;
}"""


async def render(page: Page, messages: list[str], members: list[dict[str, Any]], me: int):
    texts = await page.evaluate(RENDER, {"messages": messages, "members": members, "me": me})
    return page.get_by_test_id("rendered"), texts


def user_of(person) -> dict[str, Any]:
    return {
        "id": person.id,
        "username": person.username,
        "display_name": person.user["display_name"],
    }


async def test_hostile_messages_render_inert(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    rendered, texts = await render(page, HOSTILE, [user_of(alice), user_of(bob)], bob.id)

    # Shown as the text it is (but for markers that formatted something: *, `, fences).
    for index, message in enumerate(HOSTILE):
        if index not in (8, 9, 10):
            assert texts[index] == message
    await expect(rendered.locator("img, script, svg, iframe, object, embed")).to_have_count(0)
    assert await rendered.evaluate(UNSAFE) == []
    await expect(rendered.get_by_test_id("rendered-message").nth(5).locator("*")).to_have_count(0)
    for link in await rendered.get_by_role("link").all():
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(link).to_have_attribute("target", "_blank")
    # Nothing ran (nor was it blocked by the CSP: the fixture fails on any violation).
    assert await page.evaluate("window.pwned") is None


async def test_formatting_builds_elements(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    messages = [
        "Are you free tonight?\nDinner at 8?",
        "*bold* _italic_ `co*de*` snake_case_names 2*3*4",
        "see https://example.com/a_b_(c). and www.example.org, @bob and @alice, not @carol",
        "Look:\n```py\nprint('*hi*')\n```\ndone",
    ]
    rendered, texts = await render(page, messages, [user_of(alice), user_of(bob)], alice.id)
    items = rendered.get_by_test_id("rendered-message")

    assert texts[0] == messages[0]  # unformatted text is shown exactly as sent
    assert await items.nth(0).evaluate("(el) => el.children.length") == 0

    second = items.nth(1)
    await expect(second.locator("strong")).to_have_text("bold")
    await expect(second.locator("em")).to_have_text("italic")
    await expect(second.locator("code")).to_have_text("co*de*")
    assert texts[1] == "bold italic co*de* snake_case_names 2*3*4"

    third = items.nth(2)
    links = third.get_by_role("link")
    await expect(links).to_have_text(["https://example.com/a_b_(c)", "www.example.org"])
    await expect(links.first).to_have_attribute("href", "https://example.com/a_b_(c)")
    await expect(links.last).to_have_attribute("href", "https://www.example.org/")
    mentions = third.locator(".mention")
    await expect(mentions).to_have_text(["@bob", "@alice"])
    await expect(mentions.first).to_have_attribute("data-user-id", str(bob.id))
    await expect(third.locator(".mention-me")).to_have_text("@alice")
    assert texts[2] == messages[2]

    fourth = items.nth(3)
    await expect(fourth.locator("pre")).to_have_attribute("data-lang", "py")
    await expect(fourth.locator("pre code")).to_have_text("print('*hi*')")
    await expect(fourth.locator("strong")).to_have_count(0)


async def test_mention_autocomplete_in_the_composer(browsing: Browsing, make_user) -> None:
    alice = await make_user("alice", "Alice Liddell")
    albert = await make_user("albert", "Albert Hofmann")
    bob = await make_user("bob", "Bob Marley")
    for other in (albert, bob):
        await alice.befriend(other)
    group = await alice.group("Lab", albert, bob)
    page = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{group['id']}")
    await expect(page.get_by_test_id("conversation-title")).to_have_text("Lab")

    composer = page.get_by_role("textbox", name="Message")  # still a textbox
    listbox = page.get_by_role("listbox", name="People to mention")
    options = listbox.get_by_role("option")
    await expect(listbox).to_be_hidden()

    # "@al": Albert, not Alice herself; by display name too ("Ma" finds Bob Marley).
    await composer.press_sequentially("Hi @al")
    await expect(listbox).to_be_visible()
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text("@albert")
    await expect(options.first).to_have_attribute("aria-selected", "true")
    active = await options.first.get_attribute("id")
    await expect(composer).to_have_attribute("aria-activedescendant", active or "")
    await composer.press("Enter")  # chooses; does not send
    await expect(composer).to_have_value("Hi @albert ")
    await expect(listbox).to_be_hidden()
    await expect(page.get_by_test_id("message")).to_have_count(0)

    # "@" lists everyone but me; ↓ moves, Tab chooses.
    await composer.press_sequentially("and @")
    await expect(options).to_have_count(2)
    await composer.press("ArrowDown")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    await expect(options.first).to_have_attribute("aria-selected", "false")
    await composer.press("Tab")
    await expect(composer).to_have_value("Hi @albert and @bob ")
    await expect(composer).to_be_focused()

    # Escape closes it, and it stays closed for that "@" while typing on.
    await composer.press_sequentially("@ma")
    await expect(options).to_have_text(["Bob Marley@bob"])
    await composer.press("Escape")
    await expect(listbox).to_be_hidden()
    await composer.press_sequentially("r")
    await expect(listbox).to_be_hidden()
    for _ in "@mar":
        await composer.press("Backspace")

    # A click chooses too.
    await composer.press_sequentially("@b")
    await options.first.click()
    await expect(composer).to_have_value("Hi @albert and @bob @bob ")
    await expect(composer).to_be_focused()

    # Closed, Enter sends as before (and the send button followed the inserted text).
    await expect(page.get_by_role("button", name="Send")).to_be_enabled()
    await composer.press("Enter")
    await expect(page.get_by_test_id("message-text")).to_have_text(["Hi @albert and @bob @bob"])
    await expect(composer).to_have_value("")

    # The message shows the members it names as mentions.
    sent = page.get_by_test_id("message").last
    await expect(sent.locator(".mention")).to_have_text(["@albert", "@bob", "@bob"])

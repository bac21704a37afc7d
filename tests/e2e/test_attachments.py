"""Attachments in two people's browsers: files dropped, pasted and picked into the composer's
tray, uploaded with progress and sent; the other member sees them live (thumbnails that load, a
full-size viewer, download cards); quotes and the sidebar name them; uploads the server refuses
show its reason on their tile."""

from __future__ import annotations

import base64
import io
import re

import pytest
from playwright.async_api import JSHandle, Page, expect

from tests.attachments.files import mp4
from tests.attachments.helpers import upload
from tests.e2e.conftest import Browsing
from tests.support.api import PASSWORD

pytestmark = pytest.mark.e2e

MAKE_FILES = """(files) => {
  const transfer = new DataTransfer();
  for (const [name, type, data] of files) {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type }));
  }
  return transfer;
}"""


def png(size: tuple[int, int], colour: tuple[int, int, int] = (230, 120, 40)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(250, 220, 90)
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


async def files_in_page(page: Page, *files: tuple[str, str, bytes]) -> JSHandle:
    """A DataTransfer holding these files (name, type, bytes), made in the page."""
    encoded = [[name, kind, base64.b64encode(data).decode()] for name, kind, data in files]
    return await page.evaluate_handle(MAKE_FILES, encoded)


async def drop(page: Page, *files: tuple[str, str, bytes]) -> None:
    """Drag files over the conversation pane (its drop zone shows), then drop them."""
    transfer = await files_in_page(page, *files)
    pane = page.get_by_test_id("conversation-view")
    await pane.dispatch_event("dragenter", {"dataTransfer": transfer})
    await pane.dispatch_event("dragover", {"dataTransfer": transfer})
    await expect(page.get_by_test_id("drop-zone")).to_be_visible()
    await pane.dispatch_event("drop", {"dataTransfer": transfer})
    await expect(page.get_by_test_id("drop-zone")).to_be_hidden()


async def paste(page: Page, *files: tuple[str, str, bytes]) -> None:
    """Paste files into the composer, as the clipboard gives them."""
    transfer = await files_in_page(page, *files)
    await page.get_by_role("textbox", name="Message").evaluate(
        """(input, transfer) => input.dispatchEvent(new ClipboardEvent(
          "paste", { clipboardData: transfer, bubbles: true, cancelable: true }))""",
        transfer,
    )


def chip(page: Page, name: str):
    return page.get_by_test_id("attachment-chip").filter(
        has=page.get_by_test_id("attachment-chip-name").filter(has_text=name)
    )


async def loaded(page: Page, image) -> int:
    """Wait for an <img> to load; its natural width."""
    handle = await image.element_handle()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)
    return int(await image.evaluate("img => img.naturalWidth"))


async def test_dropped_image_reaches_the_other_member_and_opens_full_size(
    browsing: Browsing, alice_bob_dm
) -> None:
    alice, bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")
    send = a.get_by_role("button", name="Send")
    await expect(send).to_be_disabled()

    await drop(a, ("sunset.png", "image/png", png((640, 480))))
    tile = chip(a, "sunset.png")
    await expect(tile).to_have_attribute("data-status", "done")
    # Uploaded: the server's thumbnail replaces the preview drawn from the file.
    await loaded(a, tile.locator("img"))
    await expect(tile.get_by_test_id("upload-progress")).to_be_hidden()
    await expect(send).to_be_enabled()  # an attachment alone is a message
    await send.click()
    await expect(a.get_by_test_id("attachment-tray")).to_be_hidden()

    for page in (a, b):
        image = page.get_by_role("button", name="sunset.png", exact=True)
        thumbnail = image.get_by_role("img", name="sunset.png")
        await expect(thumbnail).to_have_attribute("width", "280")
        await expect(thumbnail).to_have_attribute("height", "210")
        await expect(thumbnail).to_have_attribute("loading", "lazy")
        assert await loaded(page, thumbnail) == 320  # the server's WebP thumbnail
    await expect(a.get_by_test_id("conversation-preview")).to_have_text("You: 📎 Photo")
    await expect(b.get_by_test_id("conversation-preview")).to_have_text("📎 Photo")

    # Bob opens it full size; Escape closes the viewer and gives the focus back.
    opener = b.get_by_role("button", name="sunset.png", exact=True)
    await opener.click()
    viewer = b.get_by_role("dialog", name="sunset.png")
    await expect(viewer).to_be_visible()
    assert await loaded(b, viewer.get_by_test_id("viewer-image")) == 640
    download = viewer.get_by_role("link", name="Download sunset.png")
    await expect(download).to_have_attribute("href", re.compile(r"^/api/attachments/\d+$"))
    await expect(download).to_have_attribute("download", "sunset.png")
    await b.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    await expect(opener).to_be_focused()
    await opener.click()
    await viewer.get_by_role("button", name="Close").click()
    await expect(viewer).to_be_hidden()

    # A reply to the photo quotes it by its attachments.
    photo = b.get_by_test_id("message").filter(has=b.get_by_test_id("attachment-image"))
    await photo.hover()
    await photo.get_by_role("button", name="Reply").click()
    await expect(b.get_by_test_id("reply-bar-excerpt")).to_have_text("📎 1 attachment")
    await b.get_by_role("textbox", name="Message").fill("Gorgeous!")
    await b.get_by_role("textbox", name="Message").press("Enter")
    for page in (a, b):
        await expect(page.get_by_test_id("message-quote")).to_have_text(
            re.compile(r"Alice Liddell\s*📎 1 attachment")
        )


async def test_pasted_image_and_picked_file_go_together(browsing: Browsing, alice_bob_dm) -> None:
    alice, bob, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    b = await browsing.open_app(await browsing.signed_in(bob), f"/#/c/{dm}")

    await paste(a, ("image.png", "image/png", png((300, 500), (40, 90, 200))))
    async with a.expect_file_chooser() as chooser:
        await a.get_by_role("button", name="Attach files").click()
    notes = b"Packing list\n- tent\n- stove\n" * 100
    await (await chooser.value).set_files(
        {"name": "packing list.txt", "mimeType": "text/plain", "buffer": notes}
    )
    for name in ("image.png", "packing list.txt"):
        await expect(chip(a, name)).to_have_attribute("data-status", "done")
    await expect(chip(a, "packing list.txt")).to_contain_text("2.7 KB")
    composer = a.get_by_role("textbox", name="Message")
    await composer.fill("For the weekend")
    await composer.press("Enter")

    for page in (a, b):
        sent = page.get_by_test_id("message").filter(has_text="For the weekend")
        await expect(sent.get_by_role("img", name="image.png")).to_have_attribute("height", "280")
        link = sent.get_by_role("link", name=re.compile(r"packing list\.txt"))
        await expect(link).to_contain_text("2.7 KB")
        await expect(link).to_have_attribute("download", "packing list.txt")
        href = await link.get_attribute("href")
        assert href and re.fullmatch(r"/api/attachments/\d+", href)
    # The other member can fetch the file: it downloads as sent.
    response = await b.request.get(href)
    assert response.ok
    assert await response.body() == notes
    assert "attachment" in response.headers["content-disposition"]
    await expect(b.get_by_test_id("conversation-preview")).to_have_text("For the weekend")

    # A video (sent through the API) plays in place, its metadata loaded first.
    video = await upload(alice, mp4(), "video/mp4", "trail.mp4")
    await alice.ok(
        "POST", f"/api/conversations/{dm}/messages", {"attachment_ids": [video["id"]]}, 201
    )
    player = b.get_by_test_id("attachment-video").locator("video")
    await expect(player).to_have_attribute("controls", "")
    await expect(player).to_have_attribute("preload", "metadata")
    await expect(player).to_have_attribute("src", video["url"])
    await expect(b.get_by_test_id("conversation-preview")).to_have_text("📎 Video")


@pytest.mark.settings(max_upload_bytes=50_000, max_image_pixels=10_000)
async def test_refused_uploads_say_why_and_can_be_removed(browsing: Browsing, alice_bob_dm) -> None:
    alice, _, dm = alice_bob_dm
    a = await browsing.open_app(await browsing.signed_in(alice), f"/#/c/{dm}")
    send = a.get_by_role("button", name="Send")

    await drop(
        a,
        ("huge.png", "image/png", png((200, 200))),  # 40,000 pixels: the server refuses it
        ("fake.png", "image/png", b"not a picture at all"),
        ("video.bin", "", bytes(60_000)),  # over the limit: refused before it is sent
        ("ok.txt", "text/plain", b"fine"),
    )
    await expect(chip(a, "huge.png").get_by_test_id("attachment-chip-error")).to_have_text(
        "The image has more than 10000 pixels."
    )
    await expect(chip(a, "fake.png").get_by_test_id("attachment-chip-error")).to_have_text(
        "The file is not an image of an allowed type (JPEG, PNG, GIF or WebP)."
    )
    await expect(chip(a, "video.bin").get_by_test_id("attachment-chip-error")).to_have_text(
        "Too large (59 KB): the limit is 49 KB."
    )
    await expect(chip(a, "ok.txt")).to_have_attribute("data-status", "done")

    # Removing the uploaded one discards it on the server; failed ones alone cannot be sent.
    async with a.expect_response(
        lambda r: r.request.method == "DELETE" and "/api/attachments/" in r.url
    ) as discarded:
        await a.get_by_role("button", name="Remove ok.txt").click()
    assert (await discarded.value).status == 204
    await expect(a.get_by_test_id("attachment-chip")).to_have_count(3)
    await expect(send).to_be_disabled()
    for name in ("huge.png", "fake.png", "video.bin"):
        await a.get_by_role("button", name=f"Remove {name}").click()
    await expect(a.get_by_test_id("attachment-tray")).to_be_hidden()

    # Eleven files: ten are taken, and the tray says why not the last.
    await drop(a, *[(f"note{i}.txt", "text/plain", b"x") for i in range(11)])
    await expect(a.get_by_test_id("attachment-chip")).to_have_count(10)
    await expect(a.get_by_test_id("tray-hint")).to_contain_text(
        "A message takes up to 10 files: 1 was not added."
    )
    for i in range(10):
        await expect(chip(a, f"note{i}.txt")).to_have_attribute("data-status", "done")
    await send.click()
    sent = a.get_by_test_id("message").filter(has=a.get_by_test_id("attachment-file"))
    await expect(sent.get_by_test_id("attachment-file")).to_have_count(10)
    await expect(sent).not_to_have_attribute("data-pending", "true")
    await expect(a.get_by_test_id("conversation-preview")).to_have_text("You: 📎 10 files")


async def test_a_page_never_uploads_as_someone_who_signed_in_after_it(
    browsing: Browsing, alice_bob_dm
) -> None:
    """Bob signs in on the browser while Alice's page is open: a file dropped there is refused
    (401: the upload names the page's user), not uploaded as his."""
    alice, bob, dm = alice_bob_dm
    context = await browsing.signed_in(alice)
    page = await browsing.open_app(context, f"/#/c/{dm}")
    response = await context.request.post(
        "/api/auth/login", data={"username": bob.username, "password": PASSWORD}
    )
    assert response.ok

    async with page.expect_response(re.compile(r"/api/attachments\?")) as answer:
        await drop(page, ("sunset.png", "image/png", png((64, 48))))
    assert (await answer.value).status == 401

"""The web app manifest, its icons and the service worker, as the server serves them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from PIL import Image

import tidings.web
from tidings.web.assets import manifest

STATIC = Path(tidings.web.__file__).parent / "static"


async def test_the_manifest_names_the_app_and_its_icons(server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/manifest.webmanifest")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/manifest+json"
        app = response.json()
        assert app["name"] == app["short_name"] == "Tidings"
        assert (app["start_url"], app["scope"], app["display"]) == ("/", "/", "standalone")
        assert re.fullmatch(r"#[0-9a-f]{6}", app["theme_color"])
        assert re.fullmatch(r"#[0-9a-f]{6}", app["background_color"])
        pngs = {
            (i["sizes"], i.get("purpose", "any")): i["src"]
            for i in app["icons"]
            if i["type"] == "image/png"
        }
        assert set(pngs) == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
        for (sizes, _), src in pngs.items():
            icon = await client.get(src)
            assert icon.status_code == 200
            image = Image.open(io.BytesIO(icon.content))
            assert (image.format, f"{image.width}x{image.height}") == ("PNG", sizes)


def test_the_maskable_icon_fills_its_square_and_the_others_have_round_corners() -> None:
    """A maskable icon is cut by the platform: no transparent corner may show."""
    maskable = Image.open(STATIC / "icons/icon-maskable-512.png").convert("RGBA")
    plain = Image.open(STATIC / "icons/icon-512.png").convert("RGBA")
    assert maskable.getpixel((0, 0))[3] == 255
    assert plain.getpixel((0, 0))[3] == 0
    apple = Image.open(STATIC / "icons/apple-touch-icon.png")
    assert apple.size == (180, 180)
    assert apple.mode == "RGB"  # iOS draws transparency black


async def test_both_pages_link_the_manifest_icons_and_theme_colours(server, make_user) -> None:
    alice = await make_user("alice")
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        sign_in = (await anonymous.get("/login")).text
    app = (await alice.get("/")).text
    for page in (sign_in, app):
        assert '<link rel="manifest" href="/manifest.webmanifest">' in page
        apple_touch = manifest().url("icons/apple-touch-icon.png")
        assert f'<link rel="apple-touch-icon" href="{apple_touch}">' in page
        assert theme_colour_media(page) == [
            "(prefers-color-scheme: light)",
            "(prefers-color-scheme: dark)",
        ]
    # A scheme chosen in the settings is the browser bar's too.
    await alice.ok("PATCH", "/api/users/me/settings", {"theme": "dark"})
    assert theme_colour_media((await alice.get("/")).text) == ["not all", "all"]


def theme_colour_media(page: str) -> list[str]:
    pattern = r'<meta name="theme-color" content="#\w+"(?: data-scheme="\w+")? media="([^"]+)">'
    return re.findall(pattern, page)


async def test_the_worker_is_served_from_the_root_with_the_shell_and_version(server) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    worker = response.text
    assets = manifest()
    assert f"const VERSION = {_js(assets.version)};" in worker
    shell = re.search(r"const SHELL = (\[.*?\]);", worker)
    assert shell is not None
    urls = [url.replace("\\/", "/") for url in re.findall(r'"([^"]+)"', shell.group(1))]
    assert urls == assets.shell_urls()
    for path in ("js/app.js", "js/outbox.js", "css/tidings.css", "icon.svg"):
        assert assets.url(path) in urls
    assert not [url for url in urls if url.endswith(".png")]  # installing fetches those
    # No template syntax left, and nothing of the API is ever answered from a cache.
    assert "{{" not in worker
    assert "/api/" not in worker


def _js(value: str) -> str:
    return '"' + value + '"'

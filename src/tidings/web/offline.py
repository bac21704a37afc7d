"""What makes the web client installable and able to open offline: the web app manifest
(``/manifest.webmanifest``) and the service worker (``/sw.js``).

The worker is ``templates/sw.js`` with the asset manifest's version and app shell written in,
so a deploy that changes any static file changes the worker's bytes: browsers, which check
``/sw.js`` on every visit (``no-cache``), install the new worker and it drops the old caches.
It is served from the root so that its scope is the whole site (the app page is ``/``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from tidings.web.assets import manifest

NO_CACHE = {"Cache-Control": "no-cache"}
PAGE_METHODS = ["GET", "HEAD"]
"""The pages' methods: HEAD is GET without the body (uvicorn leaves it out), for uptime
monitors and link checkers."""
THEME_LIGHT = "#ffffff"
"""The page's surface colour (``--surface`` in tidings.css), light and dark: the browser's bar."""
THEME_DARK = "#181b26"
BACKGROUND = "#f4f5f9"
"""``--bg``: the splash screen's colour while an installed app starts."""


def web_app_manifest() -> dict[str, Any]:
    """The web app manifest: what an installed Tidings is called, looks like and opens."""
    assets = manifest()
    return {
        "id": "/",
        "name": "Tidings",
        "short_name": "Tidings",
        "description": "Chat with your friends, live, on a server you run yourself.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": BACKGROUND,
        "theme_color": THEME_LIGHT,
        "icons": [
            {"src": assets.url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": assets.url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": assets.url("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": assets.url("icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }


def mount_offline(app: FastAPI, templates: Jinja2Templates) -> None:
    """The manifest and the worker's routes; the pages' ``theme-color`` in ``templates``."""
    templates.env.globals.update(theme_light=THEME_LIGHT, theme_dark=THEME_DARK)

    @app.api_route("/manifest.webmanifest", methods=PAGE_METHODS, include_in_schema=False)
    async def app_manifest() -> Response:
        return JSONResponse(
            web_app_manifest(), media_type="application/manifest+json", headers=NO_CACHE
        )

    @app.api_route("/sw.js", methods=PAGE_METHODS, include_in_schema=False)
    async def service_worker() -> Response:
        assets = manifest()
        worker = templates.get_template("sw.js").render(
            version=assets.version, shell=assets.shell_urls()
        )
        return Response(worker, media_type="text/javascript", headers=NO_CACHE)

"""Serves the web client: its pages (Jinja templates) and static files (plain ES modules, CSS).

There is no build step and nothing comes from a CDN: every script and stylesheet is a file under
``static/``, which the Content-Security-Policy (``script-src 'self'; style-src 'self'``) requires.
The server serves them itself, under content-hashed names and gzipped (``assets.py``), and the
app page lists its whole module graph as ``modulepreload`` links so it loads in one round.
The pages check the session cookie so a signed-out visitor is sent to sign in before any script
runs, and the app page carries the user's id so its tabs can find each other (see
``static/js/realtime.js``) before the first fetch.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from tidings.accounts.deps import browser_user
from tidings.deps import ContextDep
from tidings.errors import NotFound
from tidings.web.assets import PREFIX, manifest, respond
from tidings.web.offline import PAGE_METHODS, mount_offline
from tidings.web.releases import StoredReleases

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["asset_url"] = lambda path: manifest().url(path)
templates.env.globals["preload_urls"] = lambda entry: manifest().preload_urls(entry)
NO_STORE = {"Cache-Control": "no-store"}


def mount_web(app: FastAPI) -> None:
    manifest()  # read, hash and compress the static files now, not on the first request
    stored_releases = StoredReleases()

    @app.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def static_file(path: str, request: Request, ctx: ContextDep) -> Response:
        try:
            return manifest().response(path, request.headers)
        except NotFound:
            # Another release's (a rolling deploy, or a page opened before it): releases.py.
            stored = await stored_releases.find(ctx.db, PREFIX + path)
            if stored is None:
                raise
            return respond(stored, True, request.headers)

    mount_offline(app, templates)

    @app.api_route("/", methods=PAGE_METHODS, include_in_schema=False, response_class=HTMLResponse)
    async def index(request: Request, ctx: ContextDep) -> Response:
        user = await browser_user(ctx, request)
        if user is None:
            return RedirectResponse("/login", status_code=303, headers=NO_STORE)
        page = {"user": user, "max_upload_bytes": ctx.settings.max_upload_bytes}
        return templates.TemplateResponse(request, "app.html", page, headers=NO_STORE)

    async def auth_page(request: Request, ctx: ContextDep, mode: str) -> Response:
        if await browser_user(ctx, request) is not None:
            return RedirectResponse("/", status_code=303, headers=NO_STORE)
        return templates.TemplateResponse(request, "auth.html", {"mode": mode}, headers=NO_STORE)

    @app.api_route(
        "/login", methods=PAGE_METHODS, include_in_schema=False, response_class=HTMLResponse
    )
    async def login_page(request: Request, ctx: ContextDep) -> Response:
        return await auth_page(request, ctx, "login")

    @app.api_route(
        "/register", methods=PAGE_METHODS, include_in_schema=False, response_class=HTMLResponse
    )
    async def register_page(request: Request, ctx: ContextDep) -> Response:
        return await auth_page(request, ctx, "register")

"""Serves the web client's pages and static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def mount_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/", include_in_schema=False, response_class=HTMLResponse)
    async def index(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "app.html")

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    async def login_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "auth.html", {"mode": "login"})

    @app.get("/register", include_in_schema=False, response_class=HTMLResponse)
    async def register_page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "auth.html", {"mode": "register"})

"""The web client's static files as the browser gets them.

CONTRACT STUB (issue 16): ``url`` and ``shell_urls`` are the interface the templates and the
service worker use; the content-hashed names, compression and cache lifetimes come behind it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

STATIC = Path(__file__).parent / "static"


class AssetManifest:
    """Every file under ``static/`` and the URL it is served at."""

    def __init__(self, root: Path = STATIC) -> None:
        self.root = root
        self.paths = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        self.version = "dev"
        """Changes whenever any file does (names the service worker's cache)."""

    def url(self, path: str) -> str:
        """Where the browser fetches ``path`` (relative to ``static/``, e.g. ``js/app.js``)."""
        return f"/static/{path}"

    def shell_urls(self) -> list[str]:
        """What the service worker keeps for opening the app offline: every script, the
        stylesheet and the icons."""
        return [self.url(p) for p in self.paths if p.endswith((".js", ".css", ".svg", ".png"))]


@cache
def manifest() -> AssetManifest:
    return AssetManifest()

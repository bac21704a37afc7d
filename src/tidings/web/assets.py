"""The web client's static files as the browser gets them: named by their content, compressed.

Every file under ``static/`` is served at two URLs. ``/static/js/app.3f9a1c2b.js`` carries a
hash of its content (8 hex digits of a SHA-256), so what it serves never changes and browsers
(and proxies) may keep it for a year without asking again; the pages name only these.
``/static/js/app.js`` serves the same bytes, revalidated on each use (``no-cache`` and an ETag),
for whatever cannot know the hash.

A module names its imports by relative path (``import { api } from "./api.js"``); the text
served renames each to its hashed name (``"./api.5d04e7aa.js"``), and a stylesheet's ``url(...)``
likewise. So a file's hash covers its own bytes and those of every file it reaches through such
references, directly or not: a change in a leaf module renames it and every module up its
import chains, and modules that import each other (a cycle) simply reach the same files. The
same walk gives the pages their ``<link rel="modulepreload">`` list, so the browser fetches the
whole graph at once instead of discovering it one level of imports at a time.

All of it is computed once per process, in memory, from the package's files (no build step):
a static file edited while the server runs is seen after a restart. Each file is gzipped at
level 9 then too. Brotli (quality 11) would send 14 % less than the app page's ~150 kB gzipped,
once per release per browser: not worth a compiled dependency and 0.6 s or more of CPU at each
start.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from starlette.responses import Response

from tidings.errors import NotFound

STATIC = Path(__file__).parent / "static"
PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}

# References to other static files that the served text renames: a module's
# ``import ... from "./x.js"``, ``import "./x.js"``, ``export ... from "./x.js"`` and
# ``import("./x.js")``; a stylesheet's ``url(./x.svg)``. Relative, or under /static/.
REFERENCES = {
    ".js": re.compile(
        r"""(?:\bfrom|\bimport)\s*\(?\s*(["'])(?P<ref>(?:\.\.?|/static)/[^"'\s]+)\1"""
    ),
    ".css": re.compile(r"""\burl\(\s*(["']?)(?P<ref>[^"')\s]+)\1\s*\)"""),
}


@dataclass(frozen=True)
class Asset:
    """One static file as served."""

    path: str
    """Relative to ``static/``: ``js/app.js``."""
    digest: str
    """Of its bytes and those of every file it reaches (8 hex digits)."""
    body: bytes
    """Its bytes, references renamed to hashed names."""
    gzipped: bytes | None
    """``body`` gzipped, or None when that is no smaller."""
    media_type: str
    references: tuple[str, ...]
    """The static files it names (a module's imports), as paths."""

    @property
    def url(self) -> str:
        """Its content-hashed URL: ``/static/js/app.3f9a1c2b.js``."""
        stem, suffix = posixpath.splitext(self.path)
        return f"{PREFIX}{stem}.{self.digest}{suffix}"

    @property
    def etag(self) -> str:
        return f'W/"{self.digest}"'  # weak: the gzipped and plain bodies are one resource


class AssetManifest:
    """Every file under ``static/``, hashed, renamed and compressed."""

    def __init__(self, root: Path = STATIC) -> None:
        self.root = root
        sources = {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }
        self.paths = list(sources)
        refs = {path: _references(path, source, sources) for path, source in sources.items()}
        own = {path: hashlib.sha256(source).hexdigest() for path, source in sources.items()}
        digests = {}
        for path in sources:
            reached = "".join(f"{p} {own[p]}\n" for p in sorted(_reachable(path, refs)))
            digests[path] = hashlib.sha256(reached.encode()).hexdigest()[:8]
        self.assets: dict[str, Asset] = {}
        for path, source in sources.items():
            body = _rename(path, source, refs[path], digests)
            packed = gzip.compress(body, 9, mtime=0)
            self.assets[path] = Asset(
                path=path,
                digest=digests[path],
                body=body,
                gzipped=packed if len(packed) < len(body) else None,
                media_type=_media_type(path),
                references=tuple(sorted(set(refs[path].values()))),
            )
        self.by_url = {asset.url: asset for asset in self.assets.values()}
        self.version = hashlib.sha256("\n".join(sorted(self.by_url)).encode()).hexdigest()[:12]
        """Changes whenever any file does (names the service worker's cache)."""

    def url(self, path: str) -> str:
        """Where the browser fetches ``path`` (relative to ``static/``, e.g. ``js/app.js``)."""
        return self.assets[path].url

    def shell_urls(self) -> list[str]:
        """What the service worker keeps for opening the app offline: every script, the
        stylesheet and the SVG icon the pages show. (Not the PNG icons: the browser fetches
        those from the web app manifest when installing, and they would double what a first
        visit downloads.)"""
        return [self.url(p) for p in self.paths if p.endswith((".js", ".css", ".svg"))]

    def preload_urls(self, entry: str) -> list[str]:
        """Every file ``entry`` reaches through its imports, nearest first, but itself: the
        page's ``<link rel="modulepreload">`` list."""
        order = [entry]
        for path in order:  # breadth first: the order a browser would discover them in
            order += [p for p in self.assets[path].references if p not in order]
        return [self.url(p) for p in order[1:]]

    def find(self, url_path: str) -> tuple[Asset, bool]:
        """The asset at ``/static/<url_path>``, and whether that URL is its hashed one."""
        asset = self.by_url.get(PREFIX + url_path)
        if asset is not None:
            return asset, True
        asset = self.assets.get(url_path)
        if asset is None:
            raise NotFound("No such file.")
        return asset, False

    def response(self, url_path: str, headers: Mapping[str, str]) -> Response:
        """The HTTP response for ``GET /static/<url_path>`` with the request's ``headers``."""
        asset, hashed = self.find(url_path)
        return respond(asset, hashed, headers)


def respond(asset: Asset, hashed: bool, headers: Mapping[str, str]) -> Response:
    """``asset`` as the response to a request with ``headers``, at its hashed URL or not."""
    common = {
        "Cache-Control": IMMUTABLE if hashed else REVALIDATE,
        "ETag": asset.etag,
    }
    if asset.gzipped is not None:
        common["Vary"] = "Accept-Encoding"
    if _etag_matches(headers.get("if-none-match", ""), asset.etag):
        return Response(status_code=304, headers=common)
    body = asset.body
    if asset.gzipped is not None and _accepts_gzip(headers.get("accept-encoding", "")):
        body, common["Content-Encoding"] = asset.gzipped, "gzip"
    return Response(body, media_type=asset.media_type, headers=common)


HASHED_URL = re.compile(
    rf"^{PREFIX}(?P<stem>[A-Za-z0-9_./-]+)\.(?P<digest>[0-9a-f]{{8}})(?P<suffix>\.[A-Za-z0-9]+)$"
)
"""A content-hashed URL: ``/static/js/app.3f9a1c2b.js``."""


def stored_asset(url: str, media_type: str, gzipped: bytes) -> Asset:
    """The asset at hashed ``url`` from its gzipped bytes (another release's: ``releases.py``)."""
    match = HASHED_URL.match(url)
    if match is None:
        raise ValueError(f"not a content-hashed URL: {url}")
    body = gzip.decompress(gzipped)
    return Asset(
        path=match["stem"] + match["suffix"],
        digest=match["digest"],
        body=body,
        gzipped=gzipped if len(gzipped) < len(body) else None,
        media_type=media_type,
        references=(),
    )


@cache
def manifest() -> AssetManifest:
    return AssetManifest()


def _references(path: str, source: bytes, sources: Mapping[str, bytes]) -> dict[str, str]:
    """``path``'s references to other static files: {as written: the file's path}."""
    pattern = REFERENCES.get(posixpath.splitext(path)[1])
    if pattern is None:
        return {}
    found = {}
    for match in pattern.finditer(source.decode()):
        ref = match["ref"]
        target = _resolve(path, ref)
        if target in sources and target != path:
            found[ref] = target
    return found


def _resolve(path: str, ref: str) -> str:
    if ref.startswith(PREFIX):
        return ref.removeprefix(PREFIX)
    return posixpath.normpath(posixpath.join(posixpath.dirname(path), ref))


def _reachable(path: str, refs: Mapping[str, Mapping[str, str]]) -> set[str]:
    seen = {path}
    todo = [path]
    while todo:
        for target in refs[todo.pop()].values():
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _rename(path: str, source: bytes, refs: Mapping[str, str], digests: Mapping[str, str]) -> bytes:
    """``source`` with each of its ``refs`` renamed to the hashed name of the file it names."""
    pattern = REFERENCES.get(posixpath.splitext(path)[1])
    if pattern is None or not refs:
        return source

    def hashed(match: re.Match[str]) -> str:
        ref = match["ref"]
        if ref not in refs:
            return match[0]
        stem, suffix = posixpath.splitext(ref)
        start, end = match.start("ref") - match.start(), match.end("ref") - match.start()
        return f"{match[0][:start]}{stem}.{digests[refs[ref]]}{suffix}{match[0][end:]}"

    return pattern.sub(hashed, source.decode()).encode()


def _media_type(path: str) -> str:
    suffix = posixpath.splitext(path)[1]
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison, as RFC 9110 says for it)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _accepts_gzip(accept_encoding: str) -> bool:
    """``Accept-Encoding`` allows gzip: named with q > 0, or ``*`` is and gzip is not named."""
    qualities = dict(_codings(accept_encoding))
    return qualities.get("gzip", qualities.get("*", 0.0)) > 0


def _codings(accept_encoding: str) -> Iterator[tuple[str, float]]:
    for part in accept_encoding.split(","):
        coding, *params = (item.strip() for item in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            yield coding.lower(), quality

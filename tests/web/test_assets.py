"""Static files: content-hashed URLs cached forever, gzip, the plain URLs revalidated, and the
pages naming the whole module graph (``tidings/web/assets.py``)."""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from tests.conftest import MakeUser
from tests.support.server import LiveServer
from tidings.web.assets import STATIC, AssetManifest, manifest

HASHED = re.compile(r"^/static/.+\.[0-9a-f]{8}\.\w+$")
SPECIFIER = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']""")
STATIC_REF = re.compile(r'(?:src|href)="(/static/[^"]+)"')
PRELOAD = re.compile(r"""<link rel="modulepreload" href="([^"]+)">""")
ENTRY = re.compile(r"""<script type="module" src="([^"]+)"></script>""")


async def _page(server: LiveServer, path: str, client: httpx.AsyncClient | None = None) -> str:
    if client is None:
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            response = await anonymous.get(path)
    else:
        response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.text


async def test_hashed_urls_are_cached_forever_with_their_content_type(server: LiveServer) -> None:
    expected = {
        "js/app.js": "text/javascript",
        "css/tidings.css": "text/css",
        "icon.svg": "image/svg+xml",
    }
    async with httpx.AsyncClient(base_url=server.url) as client:
        for path, media_type in expected.items():
            url = manifest().url(path)
            assert HASHED.match(url), url
            response = await client.get(url)
            assert response.status_code == 200
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
            assert response.headers["content-type"].split(";")[0] == media_type
            assert response.headers["etag"]


async def test_the_app_page_preloads_every_module_its_script_imports(
    server: LiveServer, make_user: MakeUser
) -> None:
    """Walk the imports from app.js over HTTP: each is a hashed URL that answers, and the set
    of them is the page's modulepreload list."""
    alice = await make_user("alice")
    html = await _page(server, "/", alice.client)
    (entry,) = ENTRY.findall(html)
    preloads = PRELOAD.findall(html)
    modules = {entry}
    todo = [entry]
    async with httpx.AsyncClient(base_url=server.url) as client:
        while todo:
            url = todo.pop()
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith("text/javascript")
            for specifier in SPECIFIER.findall(response.text):
                target = urlsplit(urljoin(server.url + url, specifier)).path
                assert HASHED.match(target), f"{url} imports {specifier}"
                if target not in modules:
                    modules.add(target)
                    todo.append(target)
    assert len(modules) > 20
    assert len(preloads) == len(set(preloads))
    assert set(preloads) == modules - {entry}


async def test_the_sign_in_page_preloads_its_modules(server: LiveServer) -> None:
    html = await _page(server, "/login")
    (entry,) = ENTRY.findall(html)
    assert entry == manifest().url("js/auth.js")
    assert PRELOAD.findall(html) == manifest().preload_urls("js/auth.js") != []


async def test_pages_name_only_hashed_static_urls(server: LiveServer, make_user: MakeUser) -> None:
    alice = await make_user("alice")
    pages = [await _page(server, "/login"), await _page(server, "/register")]
    pages.append(await _page(server, "/", alice.client))
    async with httpx.AsyncClient(base_url=server.url) as client:
        for html in pages:
            urls = STATIC_REF.findall(html)
            assert urls
            for url in urls:
                assert HASHED.match(url), url
                assert (await client.get(url)).status_code == 200, url


async def _raw_get(
    client: httpx.AsyncClient, url: str, accept_encoding: str
) -> tuple[httpx.Headers, bytes]:
    """The response's headers and its body as sent (httpx would decompress it)."""
    async with client.stream("GET", url, headers={"Accept-Encoding": accept_encoding}) as r:
        return r.headers, b"".join([chunk async for chunk in r.aiter_raw()])


async def test_gzip_is_served_to_those_who_accept_it(server: LiveServer) -> None:
    for path in ("js/app.js", "css/tidings.css", "icon.svg"):
        url = manifest().url(path)
        async with httpx.AsyncClient(base_url=server.url) as client:
            plain_headers, plain = await _raw_get(client, url, "identity")
            packed_headers, packed = await _raw_get(client, url, "br, gzip, deflate")
            refused_headers, refused = await _raw_get(client, url, "gzip;q=0, *")
        assert "content-encoding" not in plain_headers
        assert plain_headers["vary"] == "Accept-Encoding"
        assert int(plain_headers["content-length"]) == len(plain)
        assert packed_headers["content-encoding"] == "gzip"
        assert packed_headers["vary"] == "Accept-Encoding"
        assert int(packed_headers["content-length"]) == len(packed) < len(plain)
        assert gzip.decompress(packed) == plain
        assert "content-encoding" not in refused_headers
        assert refused == plain


async def test_plain_urls_are_revalidated_with_their_etag(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        hashed = await client.get(manifest().url("js/format.js"))
        plain = await client.get("/static/js/format.js")
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == "no-cache"
        assert plain.content == hashed.content
        etag = plain.headers["etag"]
        again = await client.get("/static/js/format.js", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        other = await client.get("/static/js/format.js", headers={"If-None-Match": 'W/"0"'})
        assert other.status_code == 200
        head = await client.head("/static/css/tidings.css")
        assert head.status_code == 200
        assert head.content == b""
        assert int(head.headers["content-length"]) > 0


async def test_a_missing_file_is_404(server: LiveServer) -> None:
    app_js = manifest().url("js/app.js")
    stale = re.sub(r"\.[0-9a-f]{8}\.js$", ".00000000.js", app_js)
    async with httpx.AsyncClient(base_url=server.url) as client:
        for url in ("/static/js/nothing.js", stale, "/static/..%2Fassets.py", "/static/"):
            response = await client.get(url)
            assert response.status_code == 404, url
            assert response.json()["code"] == "not_found"
            # Never kept: a hashed name missing from one process during a rolling deploy is
            # there a moment later.
            assert response.headers["cache-control"] == "no-store"


async def test_the_apis_answers_are_not_kept_by_caches(server: LiveServer, make_user) -> None:
    alice = await make_user("alice")
    for path in ("/api/auth/me", "/api/conversations", "/api/nothing-here"):
        response = await alice.get(path)
        assert response.headers["cache-control"] == "no-store", path
    # What says its own caching keeps it.
    assert (await alice.get("/")).headers["cache-control"] == "no-store"
    static = await alice.get(manifest().url("js/app.js"))
    assert static.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_changing_a_leaf_renames_it_and_every_module_that_reaches_it(tmp_path: Path) -> None:
    root = tmp_path / "static"
    shutil.copytree(STATIC, root)
    before = AssetManifest(root)
    importer, leaf = next(
        (path, target)
        for path in before.paths
        for target in before.assets[path].references
        if not before.assets[target].references
    )
    with (root / leaf).open("a") as file:
        file.write("\n// changed\n")
    after = AssetManifest(root)

    def reaches(path: str) -> bool:
        todo, seen = [path], set()
        while todo:
            here = todo.pop()
            if here == leaf:
                return True
            seen.add(here)
            todo += [p for p in before.assets[here].references if p not in seen]
        return False

    renamed = {path for path in before.paths if before.url(path) != after.url(path)}
    assert renamed == {path for path in before.paths if reaches(path)}
    assert {leaf, importer, "js/app.js"} <= renamed
    assert len(renamed) < len(before.paths)
    new_name = after.url(leaf).rsplit("/", 1)[1]
    assert new_name.encode() in after.assets[importer].body
    assert before.version != after.version


def test_every_kind_of_reference_and_a_cycle(tmp_path: Path) -> None:
    files = {
        "js/main.js": 'import { a } from "./a.js";\nimport "./side.js";\n'
        'export { b } from "./lib/b.js";\nconst later = () => import("./lib/lazy.js");\n'
        'import { x } from "/static/js/x.js";\n',
        "js/a.js": 'import { b } from "./lib/b.js";\nexport const a = 1;\n',
        "js/lib/b.js": 'import { a } from "../a.js";\nexport const b = 2;\n',  # a cycle
        "js/side.js": "export {};\n",
        "js/lib/lazy.js": "export {};\n",
        "js/x.js": "export const x = 3;\n",
        "css/site.css": "body { background: url(../img/dot.svg); }\n"
        'i { background: url("data:image/svg+xml,<svg/>"); }\n',
        "img/dot.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    assets = AssetManifest(tmp_path)

    def name(path: str) -> str:
        return assets.url(path).rsplit("/", 1)[1]

    main = assets.assets["js/main.js"].body.decode()
    for path in ("js/a.js", "js/side.js", "js/lib/b.js", "js/lib/lazy.js"):
        assert name(path) in main, path
    assert f'"/static/js/{name("js/x.js")}"' in main
    assert f'"../{name("js/a.js")}"' in assets.assets["js/lib/b.js"].body.decode()
    assert f'"./lib/{name("js/lib/b.js")}"' in assets.assets["js/a.js"].body.decode()
    css = assets.assets["css/site.css"].body.decode()
    assert f"url(../img/{name('img/dot.svg')})" in css
    assert 'url("data:image/svg+xml,<svg/>")' in css
    assert set(assets.preload_urls("js/main.js")) == {
        assets.url(p) for p in files if p.startswith("js/") and p != "js/main.js"
    }

    (tmp_path / "js/lib/b.js").write_text(files["js/lib/b.js"] + "// changed\n")
    changed = AssetManifest(tmp_path)
    renamed = {p for p in files if changed.url(p) != assets.url(p)}
    assert renamed == {"js/main.js", "js/a.js", "js/lib/b.js"}

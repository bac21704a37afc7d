"""HEAD on the pages, as uptime monitors and link checkers send it: GET's answer, no body."""

from __future__ import annotations

import httpx

PAGES = ["/", "/login", "/register", "/sw.js", "/manifest.webmanifest"]


async def same_as_get_without_a_body(client: httpx.AsyncClient) -> None:
    for path in PAGES:
        get = await client.get(path)
        head = await client.head(path)
        assert (path, head.status_code) == (path, get.status_code)
        assert get.status_code in (200, 303)
        assert head.content == b""
        for header in ("content-type", "cache-control", "location"):
            assert head.headers.get(header) == get.headers.get(header), (path, header)
        if get.status_code == 200:
            assert int(head.headers["content-length"]) > 0


async def test_head_answers_the_pages_signed_out_and_signed_in(server, make_user) -> None:
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        await same_as_get_without_a_body(anonymous)
    alice = await make_user("alice")
    await same_as_get_without_a_body(alice.client)

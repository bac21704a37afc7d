"""The cross-site write check when a browser sends only ``Origin``: scheme, host and port must
be a configured public origin, or the address the server listens on; ``Host`` proves nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.api_helpers import assert_error

# Without a session, a write that passes the origin check is refused with 401 instead of 403.
WRITE = "/api/auth/logout"


async def _write(server, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        return await client.post(WRITE, headers=headers)


async def _passes(server, **headers: str) -> bool:
    response = await _write(server, **headers)
    if response.status_code == 403:
        assert_error(response, 403, "cross_site_request")
        return False
    assert_error(response, 401, "not_authenticated")
    return True


async def test_without_public_url_the_listening_address_and_its_loopback_names_pass(server):
    port = server.port
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"):
        assert await _passes(server, Origin=origin), origin
    assert await _passes(server, Origin=f"HTTP://LocalHost:{port}")


@pytest.mark.parametrize(
    "origin",
    [
        "https://127.0.0.1:{port}",  # scheme differs
        "http://127.0.0.1:{other}",  # port differs
        "http://127.0.0.1",  # port 80
        "http://127.0.0.2:{port}",  # host differs
        "http://evil.example",
        "null",
        "http://127.0.0.1:{port}@evil.example",
        "not an origin",
        "http://127.0.0.1:99999",
    ],
)
async def test_without_public_url_other_origins_are_refused(server, origin):
    value = origin.format(port=server.port, other=server.port + 1)
    assert not await _passes(server, Origin=value)


async def test_a_forged_host_header_does_not_make_an_origin_same(server):
    # The check used to compare Origin with Host: a request saying both were evil.example passed.
    assert not await _passes(server, Origin="http://evil.example", Host="evil.example")
    assert not await _passes(server, Origin="http://evil.example:8000", Host="evil.example:8000")


@pytest.mark.settings(public_url="https://chat.example.org, http://intranet.example:8080/")
async def test_with_public_url_only_its_origins_pass(server):
    assert await _passes(server, Origin="https://chat.example.org")
    assert await _passes(server, Origin="https://chat.example.org:443")
    assert await _passes(server, Origin="http://intranet.example:8080")
    for refused in (
        "http://chat.example.org",  # scheme
        "https://chat.example.org:8443",  # port
        "https://evil.chat.example.org",  # host
        "http://intranet.example",  # port 80
        f"http://127.0.0.1:{server.port}",  # where it listens, but not its public address
    ):
        assert not await _passes(server, Origin=refused), refused
    assert not await _passes(server, Origin="http://chat.example.org", Host="chat.example.org")


@pytest.mark.settings(public_url="https://chat.example.org")
async def test_sec_fetch_site_still_decides_when_the_browser_sends_it(server):
    assert await _passes(server, **{"Sec-Fetch-Site": "same-origin", "Origin": "https://x.example"})
    assert not await _passes(
        server, **{"Sec-Fetch-Site": "cross-site", "Origin": "https://chat.example.org"}
    )
    assert await _passes(server)  # no browser headers: not a browser riding on a cookie

"""The parts of a delivery that need no server: which addresses a webhook may reach, the body
and its signature, the backoff."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket

import pytest

from tidings.errors import Unprocessable
from tidings.realtime.events import StoredEvent
from tidings.webhooks.addresses import AddressRefused, check_url, is_public, resolve_target
from tidings.webhooks.delivery import event_body, retry_delay, sign


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fc00::1",
        "fe80::1",
        "::ffff:10.0.0.1",
    ],
)
def test_addresses_that_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_urls_are_checked_for_form_and_written_out_private_hosts() -> None:
    assert check_url("https://hooks.example.com/x", allow_private=False)
    assert check_url("http://127.0.0.1:9000/x", allow_private=True)
    for url, code in (
        ("ftp://example.com", "invalid_url"),
        ("https://", "invalid_url"),
        ("http://localhost:80/", "private_address"),
        ("http://app.localhost/", "private_address"),
        ("http://[fe80::1]/", "private_address"),
        # White space the schema's pattern cannot name alike in every regex engine.
        ("https://hooks.example.com/\x85x", "invalid_url"),
        ("https://hooks.example.com/a\u2003b", "invalid_url"),
    ):
        with pytest.raises(Unprocessable) as refused:
            check_url(url, allow_private=False)
        assert refused.value.code == code, url


async def test_a_delivery_connects_to_the_address_it_checked() -> None:
    with pytest.raises(AddressRefused, match="private or reserved"):
        await resolve_target("http://localhost:8000/hook", allow_private=False)
    with pytest.raises(AddressRefused):
        await resolve_target("http://10.1.1.1/hook", allow_private=False)
    allowed = await resolve_target("http://localhost:8000/hook", allow_private=True)
    assert str(allowed.url) == "http://localhost:8000/hook" and not allowed.headers
    public = await resolve_target("https://93.184.215.14/hook", allow_private=False)
    assert public.url.host == "93.184.215.14"


async def test_a_name_is_pinned_to_its_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    answers = {
        "hooks.example.com": ["93.184.215.14"],
        "rebind.example.com": ["8.8.8.8", "10.0.0.7"],
    }

    async def getaddrinfo(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    target = await resolve_target("https://hooks.example.com:8443/in?x=1", allow_private=False)
    assert str(target.url) == "https://93.184.215.14:8443/in?x=1"
    assert target.headers == {"Host": "hooks.example.com:8443"}
    assert target.extensions == {"sni_hostname": "hooks.example.com"}
    # One private address among the answers is enough to refuse (whichever would be used).
    with pytest.raises(AddressRefused, match=r"10\.0\.0\.7"):
        await resolve_target("http://rebind.example.com/", allow_private=False)


def test_the_body_carries_the_stored_payload_and_the_signature_signs_it() -> None:
    event = StoredEvent(42, "message", '{"message": {"content": "hi \\u00e9"}}')
    body = event_body(event)
    assert json.loads(body) == {
        "id": "42",
        "type": "message",
        "data": {"message": {"content": "hi é"}},
    }
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_x", "1700000000", body) == "v1=" + expected


def test_the_backoff_doubles_is_capped_and_jittered() -> None:
    for failures, full in ((1, 2.0), (2, 4.0), (5, 32.0), (10, 600.0), (500, 600.0)):
        delays = [retry_delay(failures, 2.0, 600.0) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays), (failures, delays)
        assert len(set(delays)) > 1

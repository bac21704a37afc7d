"""Which URLs a webhook may have, and where a delivery may connect (server-side request forgery).

A webhook makes the server send requests to a URL a user chose. Left alone, that user could
aim it at the server's own network: ``http://127.0.0.1:6379``, a cloud's metadata service at
``169.254.169.254``, an admin page on ``10.0.0.5``. Unless ``WEBHOOK_ALLOW_PRIVATE_ADDRESSES``
is set, every address that is not public (loopback, private, link-local, shared, reserved,
multicast, unspecified; also IPv4 inside IPv6) is refused:

* when the URL is set, if its host is such an address written out, or ``localhost`` (422);
* at each delivery, after resolving the host name: if any of its addresses is not public, the
  attempt fails with an error saying so (a failed delivery, retried like any other). The
  request then goes to the address that was checked (the URL's host kept in ``Host`` and in
  TLS's server name), so a name that resolves differently a moment later (DNS rebinding)
  cannot slip past the check.

Redirects are never followed (a public URL could redirect to a private one).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx

from tidings.errors import Unprocessable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """A delivery's host is (or resolves to) an address it may not reach."""


def is_public(address: IPAddress) -> bool:
    """Whether a webhook may connect to this address when private ones are not allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(raw: str, *, allow_private: bool) -> str:
    """The URL to store, or 422 ``invalid_url`` (not an absolute http(s) URL with a host) /
    ``private_address`` (a private address or ``localhost`` written out, when not allowed)."""
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise Unprocessable("Not a valid URL.", code="invalid_url") from None
    spaced = any(ch.isspace() or not ch.isprintable() for ch in raw)
    if url.scheme not in ("http", "https") or not url.host or spaced:
        raise Unprocessable("The URL must be http:// or https:// with a host.", code="invalid_url")
    if not allow_private:
        host = url.host.rstrip(".").lower()
        literal = _literal_address(host)
        if (
            host == "localhost"
            or host.endswith(".localhost")
            or (literal is not None and not is_public(literal))
        ):
            raise Unprocessable(
                "Webhooks may not be sent to this server's own or a private network.",
                code="private_address",
            )
    return raw


@dataclass(frozen=True, slots=True)
class Target:
    """Where one delivery connects: the URL (its host pinned to a checked address), and the
    headers and extensions that keep the original host name for HTTP and TLS."""

    url: httpx.URL
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


async def resolve_target(raw: str, *, allow_private: bool) -> Target:
    """The delivery's target, its addresses checked (raises ``AddressRefused``; a name that
    does not resolve raises ``OSError``)."""
    url = httpx.URL(raw)
    if allow_private:
        return Target(url)
    host = url.host
    port = url.port or (443 if url.scheme == "https" else 80)
    literal = _literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    refused = [str(a) for a in addresses if not is_public(a)]
    if refused or not addresses:
        raise AddressRefused(
            f"{host} resolves to a private or reserved address ({', '.join(refused)}); "
            "set WEBHOOK_ALLOW_PRIVATE_ADDRESSES to allow it"
        )
    if literal is not None:
        return Target(url)
    host_header = host if url.port is None else f"{host}:{url.port}"
    extensions = {"sni_hostname": host} if url.scheme == "https" else {}
    return Target(url.copy_with(host=str(addresses[0])), {"Host": host_header}, extensions)

"""Where a webhook may be sent: not into the operator's own network (EPCIS subscriptions).

    check_destination(url, *, resolve=resolve_host) -> None, or raises DestinationRefused
    resolve_host(host) -> [address, ...]

A destination whose host is, or resolves to, a loopback, private, link-local, multicast, reserved or
unspecified address (IPv4-mapped IPv6 addresses are read as their IPv4 address, zone ids dropped) is
refused: otherwise any registered party could make the service POST to the operator's internal
services or a cloud's metadata endpoint (169.254.169.254). trace/epcis_subscriptions.py checks at
subscription and again before each delivery; the operator may allow private destinations
(FARMTRACE_WEBHOOK_PRIVATE=1). A name can still change between this check and the connection (DNS
rebinding): an egress proxy rules that out.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpx

__all__ = ["DestinationRefused", "Resolve", "check_destination", "resolve_host"]


class DestinationRefused(ValueError):
    """A webhook destination inside the operator's network (the module docstring)."""


Resolve = Callable[[str], list[str]]  # a host name -> its addresses


def resolve_host(host: str) -> list[str]:
    """The addresses `host` resolves to ([] if it does not resolve)."""
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except (socket.gaierror, UnicodeError):
        return []


def check_destination(url: str, *, resolve: Resolve = resolve_host) -> None:
    """None if `url`'s host is a public address or resolves only to public ones; raises
    DestinationRefused naming the address otherwise (a name that does not resolve passes here:
    its delivery fails, and is retried, until it does)."""
    host = _connected_host(url)
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolve(host)
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id is not an address
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        # Not globally reachable: loopback, private, link-local, shared (100.64/10: carrier-grade
        # NAT, and some clouds' metadata, e.g. 100.100.100.200), reserved, unspecified, or multicast.
        if not address.is_global or address.is_multicast:
            raise DestinationRefused(
                f"{host} is {address}, an address inside the operator's network (loopback, private, "
                "link-local or shared); the service does not deliver there unless FARMTRACE_WEBHOOK_PRIVATE=1"
            )


def _connected_host(url: str) -> str:
    """The host name as httpx will look it up and connect to it: its IDNA 2008 ASCII form (Python's
    socket module would encode a Unicode name by IDNA 2003 rules, which map e.g. "ß" to "ss": another
    name, possibly pointing elsewhere)."""
    try:
        return httpx.URL(url).raw_host.decode("ascii").strip("[]")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise DestinationRefused(f"{url!r} has no host httpx can connect to: {exc}") from exc

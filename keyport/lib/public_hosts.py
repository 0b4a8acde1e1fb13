"""Whether a host is on the public internet: Keyport sends a provider's client secret only there.

A host is judged by every address it resolves to, never by how its name reads: a name whose DNS
record points at 10.0.0.5 or at a cloud's metadata address 169.254.169.254 is refused like the
address itself. Otherwise anyone who may enter a provider's URL could make Keyport post the
secret to, or probe, the machines of the network it runs in.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from django.utils.translation import gettext as _

AddressInfo = tuple[Any, ...]  # one entry of socket.getaddrinfo


class HostNotPublic(OSError):
    """An OSError, so that a connection refused for it fails as any other connection does."""


def address_is_public(address: str) -> bool:
    """Whether this IP address is on the public internet: not private, loopback, link-local,
    reserved, multicast, unspecified, nor shared (carrier-grade NAT)."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # without a scoped IPv6 address's zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    closed = (
        ip.is_private,
        ip.is_loopback,
        ip.is_link_local,
        ip.is_reserved,
        ip.is_multicast,
        ip.is_unspecified,
    )
    return ip.is_global and not any(closed)


def public_addresses(host: str, port: int) -> list[AddressInfo]:
    """Every address `host` resolves to, if all of them are public; else HostNotPublic.

    A name that does not resolve raises socket.gaierror, as connecting to it would.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        address = str(info[4][0])
        if not address_is_public(address):
            raise HostNotPublic(_not_public_message(host, address))
    return infos


def host_refusal(host: str, port: int) -> str | None:
    """Why Keyport refuses to call this host, or None.

    A name that does not resolve is not refused here: the call fails with its own message, and a
    passing DNS failure must not keep an owner from saving the right address.
    """
    try:
        public_addresses(host, port)
    except HostNotPublic as refused:
        return str(refused)
    except (OSError, UnicodeError):
        return None
    return None


def _not_public_message(host: str, address: str) -> str:
    if host.strip("[]") == address:
        return _(
            "%(address)s is not a public internet address (it is private, local or reserved); "
            "Keyport sends the client secret only to a public address."
        ) % {"address": address}
    return _(
        "%(host)s resolves to %(address)s, which is not a public internet address (it is private, "
        "local or reserved); Keyport sends the client secret only to a public address."
    ) % {"host": host, "address": address}


def connect_to_public_address(
    address: tuple[str, int],
    timeout: Any = None,
    source_address: tuple[str, int] | None = None,
) -> socket.socket:
    """socket.create_connection to a host whose every address is public.

    The addresses checked are the ones connected to, so a name cannot resolve to a public address
    for a check and to a private one for the call that follows it.
    """
    host, port = address
    last_error: OSError | None = None
    for info in public_addresses(host, port):
        try:
            return socket.create_connection(info[4][:2], timeout, source_address)
        except OSError as error:
            last_error = error
    raise last_error or OSError(f"{host} has no address")

"""The adapter's connections to Sensorberg.

Calls go through one pooled httpx client per process and base URL (reconcile makes hundreds of
calls a minute; each would otherwise be a TCP and TLS handshake of its own), with explicit connect
and read timeouts, closed when the login changes or after it has been idle a while.
Every TCP connection it opens goes only to a host whose every address is public
(keyport.lib.public_hosts): the name is resolved as the connection is opened, each address
checked, and the socket connected to a checked address; the Host header, TLS SNI and certificate
check stay on the name. A connection kept in the pool stays on the address it was opened to.
Never through an HTTP proxy of the environment, which would resolve the name itself;
SENSORBERG_ALLOW_PRIVATE_HOSTS lifts the check for the local fake.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx
from django.conf import settings

from keyport.lib.public_hosts import host_refusal, public_addresses

# A process keeps this many connections to one base URL, each for this long after its last use.
POOL_CONNECTIONS = 10
KEEPALIVE_SECONDS = 30.0
# A base URL's client not used for this long is closed (the login moved elsewhere).
CLIENT_IDLE_SECONDS = 600.0
# The pooled clients are a cache: any process opens its own, so nothing is lost with them.
_lock = threading.Lock()


@dataclass
class _Pooled:
    client: httpx.Client
    used_at: float = field(default_factory=time.monotonic)


# One client per process and base URL; the pid keeps a forked process off its parent's sockets.
_clients: dict[tuple[int, str], _Pooled] = {}


def _public_address_transport() -> httpx.BaseTransport:
    return _PublicAddressTransport()


# Tests point this at an httpx.MockTransport or a counting transport.
transport_factory: Callable[[], httpx.BaseTransport] = _public_address_transport


def client_for(base_url: str) -> httpx.Client:
    """This process's pooled client for `base_url`; clients idle a while are closed meanwhile."""
    key = (os.getpid(), base_url.rstrip("/"))
    now = time.monotonic()
    idle: list[httpx.Client] = []
    with _lock:
        pooled = _clients.get(key)
        if pooled is None:
            client = httpx.Client(transport=transport_factory(), trust_env=False, follow_redirects=False)
            pooled = _clients[key] = _Pooled(client)
        pooled.used_at = now
        for other_key, other in list(_clients.items()):
            if now - other.used_at > CLIENT_IDLE_SECONDS:
                idle.append(_clients.pop(other_key).client)
    for client in idle:
        client.close()
    return pooled.client


def close_clients(base_url: str | None = None) -> None:
    """Close this process's client for `base_url` (every client, with None): its connections
    end, and the next call opens new ones."""
    with _lock:
        keys = [key for key in _clients if base_url is None or key[1] == base_url.rstrip("/")]
        closing = [_clients.pop(key).client for key in keys]
    for client in closing:
        client.close()


def base_url_refusal(base_url: str) -> str | None:
    """Why Keyport will not send the client secret to this base URL (its host has an address
    that is not public), or None; checked again on every call, at the address connected to."""
    if settings.SENSORBERG_ALLOW_PRIVATE_HOSTS:
        return None
    parts = urllib.parse.urlsplit(base_url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # a port out of range: the URL's own validation says so
        return None
    return host_refusal(parts.hostname or "", port)


class _PublicAddressBackend(httpcore.SyncBackend):
    """Opens each connection to an address of the host checked public just then (unless the
    settings allow private hosts, read at call time as tests change them)."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        if settings.SENSORBERG_ALLOW_PRIVATE_HOSTS:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = public_addresses(host, port)  # HostNotPublic goes up as it is
        except (socket.gaierror, UnicodeError) as error:
            raise httpcore.ConnectError(str(error)) from error
        last_error: Exception | None = None
        for info in addresses:
            try:
                return super().connect_tcp(str(info[4][0]), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as error:
                last_error = error
        raise last_error or httpcore.ConnectError(f"{host} has no address")


class _PublicAddressTransport(httpx.HTTPTransport):
    """httpx's own transport (no proxy, HTTP/1.1), its pool connecting through the backend above."""

    def __init__(self) -> None:
        limits = httpx.Limits(
            max_connections=POOL_CONNECTIONS,
            max_keepalive_connections=POOL_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )
        super().__init__(trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PublicAddressBackend(),
        )


def _reason(error: BaseException) -> str:
    """Why a connection failed, in a few words: the OS's reason under httpx's error."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return str(error) or type(error).__name__

"""Provider adapters: how a grant reaches the doors.

`builtin` needs no outside system (Keyport answers the doors itself); `sensorberg` pushes
grants to the vendor's cloud. Both raise the errors below so the outbox can tell a
passing failure (retry with backoff) from a lasting one.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from keyport.facilities.models import AccessProvider

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant
    from keyport.facilities.models import Location


class ProviderError(Exception):
    """The provider did not take the change; try again later.

    `status` is the provider's HTTP status when it answered with one.
    """

    def __init__(self, message: str = "", *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class MayStillLand(ProviderError):
    """A write went out and no answer came back (a timeout, an answer cut off, a gateway's 502
    or 504): the provider may still apply it, later than Keyport gave up on it."""


class RetryLater(ProviderError):
    def __init__(self, message: str, *, after_seconds: float, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.after_seconds = after_seconds


@dataclass(frozen=True)
class ConnectionCheck:
    """The answer to the settings page's Test connection: did it work, and what to tell the owner."""

    ok: bool
    message: str
    status: int | None = None  # the provider's HTTP status, when it answered

    @property
    def status_text(self) -> str:
        """The status as a person reads it ("HTTP 401 Unauthorized"); the provider's body never."""
        if self.status is None:
            return ""
        try:
            return f"HTTP {self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"HTTP {self.status}"


class Provider(Protocol):
    needs_sync: bool

    def push(self, grant: AccessGrant, *, idempotency_key: str) -> None: ...

    def remove(self, grant: AccessGrant, *, idempotency_key: str) -> None: ...

    def remove_ref(self, external_id: str, ref: str, *, idempotency_key: str) -> None: ...

    def memberships(self, external_id: str) -> dict[str, dict[str, Any]]: ...

    def test_connection(self, *, timeout: float) -> ConnectionCheck: ...


def provider_for(location: Location) -> Provider:
    """The provider the location's doors use now."""
    return provider_named(location.access_provider, location)


def provider_named(name: str, location: Location) -> Provider:
    """That provider (an `AccessProvider` value) with this location's login to it."""
    from keyport.access.providers.builtin import BuiltinProvider
    from keyport.access.providers.sensorberg import SensorbergProvider

    if name == AccessProvider.SENSORBERG:
        return SensorbergProvider.for_location(location)
    return BuiltinProvider()

"""Keyport's own access server: the doors ask `POST /api/v1/access/check`, so grants live
only in Keyport's database and there is nothing to push."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from keyport.access.providers import ConnectionCheck

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant


class BuiltinProvider:
    needs_sync = False

    def push(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        return None

    def remove(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        return None

    def remove_ref(self, external_id: str, ref: str, *, idempotency_key: str) -> None:
        return None

    def memberships(self, external_id: str) -> dict[str, dict[str, Any]]:
        return {}

    def test_connection(self, *, timeout: float) -> ConnectionCheck:
        return ConnectionCheck(
            ok=True, message="The built-in access server needs no connection: the doors ask Keyport itself."
        )

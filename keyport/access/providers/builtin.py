"""Keyport's own access server: the doors ask `POST /api/v1/access/check`, so grants live
only in Keyport's database and there is nothing to push."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant


class BuiltinProvider:
    needs_sync = False

    def push(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        return None

    def remove(self, grant: AccessGrant, *, idempotency_key: str) -> None:
        return None

    def membership_refs(self, unit_external_id: str) -> set[str]:
        return set()

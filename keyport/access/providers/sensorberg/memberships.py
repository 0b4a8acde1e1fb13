"""How Keyport's grants appear at Sensorberg: a unit is the access group whose External Identifier
is its number, and a grant a membership of that group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keyport.access.models import AccessGrant

MEMBERSHIP_FIELDS = ("email", "name", "valid_from", "valid_until", "credential")


def unit_external_id(unit: Any) -> str:
    """The access group's External Identifier for a unit: its number."""
    return str(unit.number)


def membership_body(grant: AccessGrant) -> dict[str, Any]:
    """The membership Sensorberg should hold for a grant, as push sends it."""
    return {
        "email": grant.holder.email,
        "name": grant.holder.name,
        "valid_from": grant.starts_at.isoformat(),
        "valid_until": grant.ends_at.isoformat() if grant.ends_at else None,
        "credential": {"type": "pin", "code": grant.holder.pin},
    }

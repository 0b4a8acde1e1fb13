"""A booking's grants with their states over time, read off the audit: each Revoke access and
Restore access names the grants it took and gave back."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from keyport.access.models import AccessGrant
from keyport.audit.models import AuditEntry
from keyport.bookings.models import Booking

REVOKED = "access.booking_revoked"
RESTORED = "access.booking_restored"


@dataclass(frozen=True)
class GrantChange:
    at: dt.datetime
    state: str
    reason: str = ""


@dataclass(frozen=True)
class GrantWithHistory:
    grant: AccessGrant
    history: list[GrantChange]


def grants_with_history(booking: Booking, grants: QuerySet[AccessGrant]) -> list[GrantWithHistory]:
    """Each grant once, with every Revoke and Restore it went through, oldest first."""
    changes: dict[int, list[GrantChange]] = {}
    entries = AuditEntry.objects.filter(
        target_type=Booking._meta.label_lower, target_id=booking.pk, action__in=[REVOKED, RESTORED]
    ).order_by("created_at", "id")
    for entry in entries:
        revoked = entry.action == REVOKED
        change = GrantChange(
            at=entry.created_at,
            state="Revoked" if revoked else "Restored",
            reason=str(entry.details.get("reason", "")) if revoked else "",
        )
        for grant_id in entry.details.get("grants", []):
            changes.setdefault(grant_id, []).append(change)
    return [GrantWithHistory(grant, changes.get(grant.pk, [])) for grant in grants]

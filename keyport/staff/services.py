"""Writes about staff: who works where in which role (audited, and every session of the person ends
when it changes), and a staff member's own preferences (no access changes, so no audit rows)."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from keyport.audit.services import Actor, audit_record
from keyport.facilities.models import Location
from keyport.staff.models import ContactListSettings, StaffUser


@transaction.atomic
def staff_scope_change(
    *, actor: Actor, member: StaffUser, role: str, all_locations: bool, locations: Iterable[Location]
) -> bool:
    """Set a staff member's role and the locations they work at (their own list, or All locations).
    When anything changed, every session of theirs ends on every device, so nothing they opened
    under the old scope goes on under the new one, and an audit row says what changed. Returns
    whether anything changed."""
    wanted = sorted({location.pk for location in locations})
    before = _scope_of(member)
    member.role = role
    member.all_locations = all_locations
    member.save(update_fields=["role", "all_locations"])
    member.locations.set(wanted)
    after = _scope_of(member)
    if after == before:
        return False
    staff_sessions_end(member=member)
    audit_record(
        actor=actor,
        action="staff.scope_changed",
        target=member,
        details={"before": before, "after": after, "sessions_ended": True},
    )
    return True


def staff_sessions_end(*, member: StaffUser) -> None:
    """End every session of this staff member, on every device: the session check Django makes on
    each request no longer matches (see StaffUser.get_session_auth_hash)."""
    StaffUser.objects.filter(pk=member.pk).update(session_generation=F("session_generation") + 1)
    member.refresh_from_db(fields=["session_generation"])


def _scope_of(member: StaffUser) -> dict[str, object]:
    """Role and locations, as the audit row shows them (names) and as they are compared (ids)."""
    rows = list(member.locations.order_by("name", "pk").values_list("pk", "name"))
    return {
        "role": member.role,
        "all_locations": member.all_locations,
        "location_ids": sorted(pk for pk, _ in rows),
        "locations": [name for _, name in rows],
    }


@transaction.atomic
def contact_list_layout_save(*, user: StaffUser, view: str, columns: list[str]) -> ContactListSettings:
    """Filters & Settings: table or cards, and which columns show."""
    settings, _ = ContactListSettings.objects.update_or_create(
        user=user, defaults={"view": view, "columns": columns}
    )
    return settings


@transaction.atomic
def contact_list_query_save(*, user: StaffUser, query: str) -> ContactListSettings:
    """The last search, filters and sort, which the bare All Contacts address opens with."""
    settings, _ = ContactListSettings.objects.update_or_create(user=user, defaults={"query": query})
    return settings

"""Writes of a staff member's own preferences (no access changes, so no audit rows)."""

from django.db import transaction

from keyport.staff.models import ContactListSettings, StaffUser


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

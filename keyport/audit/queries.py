from django.db.models import QuerySet

from keyport.audit.models import AuditEntry
from keyport.staff.models import StaffUser


def recent_entries_for_staff(user: StaffUser, *, limit: int) -> QuerySet[AuditEntry]:
    """The newest audit entries this staff member may see."""
    entries = AuditEntry.objects.select_related("location", "customer")
    if user.is_scoped_to_locations():
        entries = entries.filter(location__in=user.locations.all())
    return entries.order_by("-created_at", "-id")[:limit]

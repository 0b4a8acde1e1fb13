"""What the dashboard shows of what happened: audit entries and the emails sent, for who asks."""

from django.db.models import Q

from keyport.access.models import AccessGrant, SharedAccess
from keyport.audit.models import AuditEntry
from keyport.contacts.models import Customer
from keyport.emails.models import OutgoingEmail
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def recent_entries_for_staff(user: StaffUser, *, limit: int) -> list[AuditEntry]:
    """The newest audit entries this staff member may see, newest instant first."""
    entries = AuditEntry.objects.select_related("location", "customer")
    if user.is_scoped_to_locations():
        entries = entries.filter(location__in=user.locations.all())
    return list(entries.order_by("-created_at", "-id")[:limit])


def activity_of_customer_for_staff(
    user: StaffUser, customer: Customer, *, limit: int = 50
) -> list[AuditEntry]:
    """Audit entries about the customer, its contacts, bookings, grants and shares, newest first.

    Entries tied to a location the staff member may not see are left out.
    """
    about = (
        Q(customer=customer)
        | Q(target_type="contacts.customer", target_id=customer.pk)
        | Q(target_type="contacts.contact", target_id__in=customer.contacts.values("pk"))
        | Q(target_type="bookings.booking", target_id__in=customer.bookings.values("pk"))
        | Q(
            target_type="access.accessgrant",
            target_id__in=AccessGrant.objects.filter(booking__customer=customer).values("pk"),
        )
        | Q(
            target_type="access.sharedaccess",
            target_id__in=SharedAccess.objects.filter(booking__customer=customer).values("pk"),
        )
    )
    visible = Q(location__isnull=True) | Q(location__in=locations_for_staff(user))
    entries = AuditEntry.objects.filter(about).filter(visible).select_related("location")
    return list(entries.order_by("-created_at", "-pk")[:limit])


def emails_to_customer(customer: Customer, *, limit: int = 50) -> list[OutgoingEmail]:
    """Emails sent to the customer's people, newest first. Emails name no location: every staff
    member who may see the customer sees them."""
    return list(
        OutgoingEmail.objects.filter(contact__customer=customer)
        .select_related("contact")
        .order_by("-created_at", "-pk")[:limit]
    )

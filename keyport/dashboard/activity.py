"""What the dashboard shows of what happened: audit entries and the emails sent, for who asks."""

from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.urls import reverse

from keyport.access.models import AccessGrant, SharedAccess
from keyport.audit.models import AuditEntry
from keyport.billing.queries import invoices_for_staff
from keyport.bookings.models import Booking
from keyport.cars.queries import cars_for_staff
from keyport.contacts.models import Contact, Customer
from keyport.documents.models import Document
from keyport.emails.models import OutgoingEmail
from keyport.events.models import Event, Ticket
from keyport.facilities.models import Unit
from keyport.frontdesk.queries import customers_for_staff
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_operator, locations_for_staff


def recent_entries_for_staff(
    user: StaffUser, *, limit: int, annotate: dict[str, Any] | None = None
) -> list[AuditEntry]:
    """The newest audit entries this staff member may see, newest instant first."""
    entries = AuditEntry.objects.select_related("location", "customer").annotate(**(annotate or {}))
    if user.is_scoped_to_locations():
        entries = entries.filter(location__in=user.locations.all())
    return list(entries.order_by("-created_at", "-id")[:limit])


@dataclass(frozen=True)
class Activity:
    """An audit entry, and the page of what it is about ("" when there is none this staff member
    may open: a kind of object without a page, one deleted since, or one beyond their locations)."""

    entry: AuditEntry
    url: str


def _pages_of_targets(user: StaffUser) -> dict[str, tuple[str, QuerySet[Any]]]:
    """Each kind of target with a page: the page's URL name, and the page's argument for the
    entry's target if this staff member may see it (a subquery on the entry's `target_id`)."""
    target = OuterRef("target_id")
    locations = locations_for_staff(user)
    customers = customers_for_staff(user)
    booking_here = {"pk": target, "booking__location__in": locations}
    return {
        "contacts.customer": ("customer_detail", customers.filter(pk=target).values("pk")),
        "contacts.contact": (
            "customer_detail",
            Contact.objects.filter(pk=target, customer__in=customers).values("customer_id"),
        ),
        "bookings.booking": (
            "booking_detail",
            Booking.objects.filter(pk=target, location__in=locations).values("pk"),
        ),
        "access.accessgrant": (
            "booking_detail",
            AccessGrant.objects.filter(**booking_here).values("booking_id"),
        ),
        "access.sharedaccess": (
            "booking_detail",
            SharedAccess.objects.filter(**booking_here).values("booking_id"),
        ),
        "facilities.location": ("location_detail", locations.filter(pk=target).values("pk")),
        # The Units list of its location; its own page for those who run the location (below).
        "facilities.unit": (
            "location_units",
            Unit.objects.filter(pk=target, location__in=locations).values("location_id"),
        ),
        "cars.car": ("car_detail", cars_for_staff(user).filter(pk=target).values("pk")),
        "billing.invoice": ("invoice_detail", invoices_for_staff(user).filter(pk=target).values("pk")),
        "events.event": (
            "event_detail",
            Event.objects.filter(pk=target, location__in=locations).values("pk"),
        ),
        "events.ticket": (
            "event_detail",
            Ticket.objects.filter(pk=target, event__location__in=locations).values("event_id"),
        ),
        "documents.document": (
            "customer_documents",
            Document.objects.filter(pk=target, customer__in=customers).values("customer_id"),
        ),
    }


def recent_activity_for_staff(user: StaffUser, *, limit: int) -> list[Activity]:
    """The newest audit entries this staff member may see, each with the page of its target,
    found in the same query."""
    pages = _pages_of_targets(user)
    operated_unit = Exists(
        Unit.objects.filter(pk=OuterRef("target_id"), location__in=locations_for_operator(user))
    )
    entries = recent_entries_for_staff(
        user,
        limit=limit,
        annotate={
            "page_argument": Case(
                *(When(target_type=kind, then=Subquery(rows[:1])) for kind, (_, rows) in pages.items()),
                default=Value(None),
                output_field=BigIntegerField(null=True),
            ),
            "unit_operated": Case(
                When(target_type="facilities.unit", then=operated_unit),
                default=Value(False),
                output_field=BooleanField(),
            ),
        },
    )
    activity = []
    for entry in entries:
        argument = getattr(entry, "page_argument", None)
        url = ""
        if argument is not None:
            name = pages[entry.target_type][0]
            if getattr(entry, "unit_operated", False):
                name, argument = "unit_edit", entry.target_id
            url = reverse(f"dashboard:{name}", args=[argument])
        activity.append(Activity(entry, url))
    return activity


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

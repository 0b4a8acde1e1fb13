"""Reads of a customer's detail page in the dashboard: bookings with their access, documents,
billing and activity, each scoped to the locations the staff member may see.

Every function here runs a fixed number of queries, however many bookings, shares or contacts
the customer has: the page's query count must not grow with the customer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet

from keyport.access.models import AccessGrant, BookingAccess, SharedAccess, SyncState
from keyport.audit.models import AuditEntry
from keyport.billing.models import Invoice, InvoiceStatus
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact, Customer
from keyport.documents.models import Document
from keyport.emails.models import OutgoingEmail
from keyport.facilities.models import Location, Unit

ACTIVITY_LIMIT = 50
DOCUMENTS_LIMIT = 20


def primary_contact(contacts: Sequence[Contact]) -> Contact | None:
    return next((contact for contact in contacts if contact.is_primary), None)


@dataclass(frozen=True)
class BookingWithAccess:
    """One booking as the customer page shows it: its units, Revoke state, grants and shares."""

    booking: Booking
    units: list[Unit]
    access: BookingAccess | None
    grants: list[AccessGrant]
    shares: list[SharedAccess]

    @property
    def is_revoked(self) -> bool:
        return self.access is not None and self.access.is_revoked

    @property
    def phase(self) -> str:
        return self.booking.phase_label(self.booking.location.local_now().date())

    @property
    def sync_counts(self) -> list[tuple[str, str, int]]:
        """(state, label, how many grants) for each provider sync state that occurs, worst first."""
        counts = Counter(grant.sync_state for grant in self.grants)
        order = [SyncState.FAILED, SyncState.PENDING, SyncState.SYNCED]
        return [(state.value, state.label, counts[state.value]) for state in order if counts[state.value]]

    @property
    def unsynced_grants(self) -> list[AccessGrant]:
        return [grant for grant in self.grants if grant.sync_state != SyncState.SYNCED]


def _access_of(booking: Booking) -> BookingAccess | None:
    try:
        return booking.access
    except BookingAccess.DoesNotExist:
        return None


def bookings_with_access(customer: Customer, locations: QuerySet[Location]) -> list[BookingWithAccess]:
    """The customer's bookings at these locations, newest first, with everything the page shows."""
    grants = AccessGrant.objects.select_related("holder", "unit").order_by("origin", "unit__number", "pk")
    shares = (
        SharedAccess.objects.select_related("holder").prefetch_related("units").order_by("-created_at", "-pk")
    )
    bookings = (
        Booking.objects.filter(customer=customer, location__in=locations)
        .select_related("location", "access")
        .prefetch_related("units", Prefetch("grants", queryset=grants), Prefetch("shares", queryset=shares))
        .order_by("-starts_on", "-pk")
    )
    return [
        BookingWithAccess(
            booking=booking,
            units=list(booking.units.all()),
            access=_access_of(booking),
            grants=list(booking.grants.all()),
            shares=list(booking.shares.all()),
        )
        for booking in bookings
    ]


def recent_documents_of_customer(customer: Customer, *, limit: int = DOCUMENTS_LIMIT) -> list[Document]:
    return list(
        Document.objects.filter(customer=customer)
        .select_related("car", "booking")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class CustomerBilling:
    """What the customer owes at these locations: the open invoices and their balance per currency."""

    open_invoices: list[Invoice]
    overdue_ids: frozenset[int]

    @property
    def balances(self) -> list[tuple[str, Decimal]]:
        totals: dict[str, Decimal] = {}
        for invoice in self.open_invoices:
            totals[invoice.currency] = totals.get(invoice.currency, Decimal("0.00")) + invoice.balance
        return sorted(totals.items())


def billing_of_customer(customer: Customer, locations: QuerySet[Location]) -> CustomerBilling:
    invoices = list(
        Invoice.objects.filter(customer=customer, location__in=locations, status=InvoiceStatus.OPEN)
        .select_related("location")
        .order_by("due_on", "pk")
    )
    overdue = frozenset(
        invoice.pk for invoice in invoices if invoice.is_overdue_on(invoice.location.local_now().date())
    )
    return CustomerBilling(open_invoices=invoices, overdue_ids=overdue)


def activity_of_customer(
    customer: Customer, locations: QuerySet[Location], *, limit: int = ACTIVITY_LIMIT
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
    visible = Q(location__isnull=True) | Q(location__in=locations)
    return list(AuditEntry.objects.filter(about).filter(visible).order_by("-created_at", "-pk")[:limit])


def emails_to_customer(customer: Customer, *, limit: int = ACTIVITY_LIMIT) -> list[OutgoingEmail]:
    """Emails sent to the customer's people, newest first."""
    return list(
        OutgoingEmail.objects.filter(contact__customer=customer)
        .select_related("contact")
        .order_by("-created_at", "-pk")[:limit]
    )

"""Reads of the access engine, scoped to who asks."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from keyport.access.models import (
    AccessEvent,
    AccessGrant,
    AccessHolder,
    BookingAccess,
    SharedAccess,
    ShareState,
    SyncIntent,
    SyncIntentStatus,
    SyncState,
)
from keyport.bookings.models import Booking, BookingUnit
from keyport.contacts.models import Contact, Customer
from keyport.contacts.queries import bookings_of_customer
from keyport.facilities.models import AccessPoint, Location, Unit


def access_points_of_units(units: Sequence[Unit]) -> QuerySet[AccessPoint]:
    return (
        AccessPoint.objects.filter(unit_mappings__unit__in=list(units))
        .select_related("location")
        .distinct()
        .order_by("kind", "name")
    )


def share_phase(share: SharedAccess, now: dt.datetime) -> str:
    """What the guest page says: upcoming, current, ended, or revoked/deleted."""
    if share.state != ShareState.ACTIVE:
        return "revoked"
    if now < share.starts_at():
        return "upcoming"
    if now >= share.ends_at():
        return "ended"
    return "current"


def get_booking_for_customer(customer: Customer, booking_id: int) -> Booking:
    try:
        return (
            Booking.objects.select_related("location", "customer")
            .prefetch_related("units")
            .get(pk=booking_id, customer=customer)
        )
    except Booking.DoesNotExist:
        raise Http404("No such booking.") from None


def get_share_for_customer(customer: Customer, share_id: int) -> SharedAccess:
    try:
        return SharedAccess.objects.select_related("booking__location", "holder").get(
            pk=share_id, booking__customer=customer
        )
    except SharedAccess.DoesNotExist:
        raise Http404("No such shared access.") from None


def shares_of_booking(booking: Booking, *, today: dt.date | None = None) -> QuerySet[SharedAccess]:
    """Current and upcoming shares (all active shares when `today` is None)."""
    shares = SharedAccess.objects.filter(booking=booking).filter(state=ShareState.ACTIVE)
    if today is not None:
        shares = shares.filter(ends_on__gte=today)
    return shares.select_related("holder").prefetch_related("units").order_by("starts_on", "pk")


def holder_of_contact(location: Location, contact: Contact) -> AccessHolder | None:
    return AccessHolder.objects.filter(location=location, contact=contact).first()


def booking_access_state(booking: Booking) -> BookingAccess | None:
    """The booking's Revoke state, None if it was never revoked (no query after select_related)."""
    try:
        return booking.access
    except BookingAccess.DoesNotExist:
        return None


def get_booking_for_staff(locations: QuerySet[Location], booking_id: int) -> Booking:
    try:
        return (
            Booking.objects.select_related("location", "customer")
            .prefetch_related("units")
            .get(pk=booking_id, location__in=locations)
        )
    except Booking.DoesNotExist:
        raise Http404("No such booking.") from None


def _grants_in_display_order() -> QuerySet[AccessGrant]:
    return AccessGrant.objects.select_related("holder", "unit", "share").order_by(
        "origin", "unit__number", "pk"
    )


def _shares_newest_first() -> QuerySet[SharedAccess]:
    return (
        SharedAccess.objects.select_related("holder").prefetch_related("units").order_by("-created_at", "-pk")
    )


def grants_of_booking(booking: Booking) -> QuerySet[AccessGrant]:
    return _grants_in_display_order().filter(booking=booking)


def all_shares_of_booking(booking: Booking) -> QuerySet[SharedAccess]:
    return _shares_newest_first().filter(booking=booking)


@dataclass(frozen=True)
class BookingWithAccess:
    """One booking as the customer page shows it: its units, Revoke state, grants and shares."""

    booking: Booking
    units: list[Unit]
    access: BookingAccess | None
    grants: list[AccessGrant]
    shares: list[SharedAccess]

    @property
    def phase(self) -> str:
        return self.booking.phase_label(self.booking.location.local_now().date())

    @property
    def sync_counts(self) -> list[tuple[str, str, int]]:
        """(state, label, how many grants) for each provider sync state that occurs, worst first."""
        counts = Counter(grant.sync_state for grant in self.grants)
        order = [SyncState.FAILED, SyncState.PENDING, SyncState.SYNCED]
        return [(state.value, state.label, counts[state.value]) for state in order if counts[state.value]]


def bookings_with_access(customer: Customer, locations: QuerySet[Location]) -> list[BookingWithAccess]:
    """The customer's bookings at these locations, newest first, with their access, grants and shares
    prefetched: the same number of queries however many bookings there are."""
    bookings = (
        bookings_of_customer(customer)
        .filter(location__in=locations)
        .select_related("access")
        .prefetch_related(
            Prefetch("grants", queryset=_grants_in_display_order()),
            Prefetch("shares", queryset=_shares_newest_first()),
        )
    )
    return [
        BookingWithAccess(
            booking=booking,
            units=list(booking.units.all()),
            access=booking_access_state(booking),
            grants=list(booking.grants.all()),
            shares=list(booking.shares.all()),
        )
        for booking in bookings
    ]


def events_of_units(units: Sequence[Unit], *, limit: int = 50) -> QuerySet[AccessEvent]:
    return (
        AccessEvent.objects.filter(unit__in=list(units))
        .select_related("access_point", "holder", "unit")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def events_of_location(location: Location, *, limit: int = 100) -> QuerySet[AccessEvent]:
    return (
        AccessEvent.objects.filter(location=location)
        .select_related("access_point", "holder", "unit")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def events_for_customer(customer: Customer, *, limit: int = 30) -> QuerySet[AccessEvent]:
    """A tenant sees their bookings' events, their guests' included.

    Asked by the bookings' units as well, which the events' index leads with (an event of a
    booking always names its unit).
    """
    bookings = Booking.objects.filter(customer=customer).values("pk")
    units = BookingUnit.objects.filter(booking__customer=customer).values("unit")
    return (
        AccessEvent.objects.filter(unit__in=units, booking__in=bookings)
        .select_related("access_point", "holder", "unit")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def bookings_of_location(location: Location) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(location=location)
        .select_related("customer")
        .prefetch_related(Prefetch("units"))
        .order_by("-starts_on", "-pk")
    )


def active_holder_q() -> Q:
    return Q(grants__state="active")


def sync_changes_on_the_way(location: Location) -> int:
    """How many grant changes at this location still wait to reach its provider (or are being sent)."""
    return SyncIntent.objects.filter(
        grant__booking__location=location,
        status__in=[SyncIntentStatus.PENDING, SyncIntentStatus.SENDING],
    ).count()

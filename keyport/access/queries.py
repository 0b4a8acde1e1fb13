"""Reads of the access engine, scoped to who asks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from keyport.access.models import (
    AccessEvent,
    AccessGrant,
    AccessHolder,
    BookingAccess,
    SharedAccess,
    ShareState,
)
from keyport.bookings.models import Booking
from keyport.contacts.models import Contact, Customer
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
    return BookingAccess.objects.filter(booking=booking).first()


def get_booking_for_staff(locations: QuerySet[Location], booking_id: int) -> Booking:
    try:
        return (
            Booking.objects.select_related("location", "customer")
            .prefetch_related("units")
            .get(pk=booking_id, location__in=locations)
        )
    except Booking.DoesNotExist:
        raise Http404("No such booking.") from None


def grants_of_booking(booking: Booking) -> QuerySet[AccessGrant]:
    return (
        AccessGrant.objects.filter(booking=booking)
        .select_related("holder", "unit", "share")
        .order_by("origin", "unit__number", "pk")
    )


def all_shares_of_booking(booking: Booking) -> QuerySet[SharedAccess]:
    return (
        SharedAccess.objects.filter(booking=booking)
        .select_related("holder")
        .prefetch_related("units")
        .order_by("-created_at", "-pk")
    )


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
    """A tenant sees their bookings' events, their guests' included."""
    return (
        AccessEvent.objects.filter(booking__customer=customer)
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

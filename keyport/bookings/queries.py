from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.shortcuts import get_object_or_404

from keyport.bookings.models import (
    Booking,
    BookingUnit,
    booked_between,
)
from keyport.contacts.models import Customer
from keyport.facilities.models import Location, Unit, UnitStatus, UnitType
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def get_booking_for_staff(user: StaffUser, booking_id: int) -> Booking:
    return get_object_or_404(
        Booking.objects.select_related("location", "customer").prefetch_related("units"),
        pk=booking_id,
        location__in=locations_for_staff(user),
    )


def get_booking_for_operator(user: StaffUser, booking_id: int) -> Booking:
    """A booking to run (Revoke / Restore access, Retry): owners and managers of its location."""
    booking = get_booking_for_staff(user, booking_id)
    if not user.can_operate_location(booking.location):
        raise PermissionDenied
    return booking


def get_unit_for_operator(user: StaffUser, unit_id: int) -> Unit:
    """A unit to edit, retire or take out of service: owners and managers of its location."""
    unit = get_object_or_404(
        Unit.objects.select_related("location", "unit_type").exclude(status=UnitStatus.RETIRED),
        pk=unit_id,
        location__in=locations_for_staff(user),
    )
    if not user.can_operate_location(unit.location):
        raise PermissionDenied
    return unit


def get_unit_type_for_operator(user: StaffUser, unit_type_id: int) -> UnitType:
    """A unit type to edit, retire or delete: owners and managers of its location."""
    unit_type = get_object_or_404(
        UnitType.objects.select_related("location"), pk=unit_type_id, location__in=locations_for_staff(user)
    )
    if not user.can_operate_location(unit_type.location):
        raise PermissionDenied
    return unit_type


def unit_types_of(location: Location) -> QuerySet[UnitType]:
    """The location's unit types, each with `unit_count`: how many units (not retired) have it."""
    return location.unit_types.annotate(
        unit_count=Count("units", filter=~Q(units__status=UnitStatus.RETIRED))
    ).order_by(F("retired_at").asc(nulls_first=True), "name")


def units_free_for_transfer(booking: Booking, on: dt.date) -> QuerySet[Unit]:
    """The location's Available units that no booking holds on any day from `on` to the booking's end."""
    return units_free_for(booking.location, on, booking.ends_on)


def units_to_transfer_from(booking: Booking, today: dt.date) -> QuerySet[Unit]:
    """The booking's units it holds today with no transfer of them scheduled."""
    return Unit.objects.filter(
        booking_units__booking=booking,
        booking_units__starts_on__lte=today,
        booking_units__transfer_to__isnull=True,
    ).order_by("number")


def booking_units_held(booking: Booking, today: dt.date) -> list[BookingUnit]:
    """The booking's rows of the units it holds as of today (with their rents), by unit number:
    less those a transfer took away, and those a transfer brings in only on a later day."""
    rows = booking.booking_units.select_related("unit", "transfer_to", "booking").order_by("unit__number")
    return [row for row in rows if row.holds_unit_as_of(today)]


def units_held_by(booking: Booking, today: dt.date) -> list[Unit]:
    """The booking's units as of today (see booking_units_held)."""
    return [row.unit for row in booking_units_held(booking, today)]


def transfers_scheduled(booking: Booking, today: dt.date) -> list[BookingUnit]:
    """The booking's rows of units a transfer on a later day takes away, each with `transfer_to`."""
    return list(
        booking.booking_units.filter(transfer_to__starts_on__gt=today)
        .select_related("unit", "transfer_to__unit")
        .order_by("transfer_to__starts_on", "unit__number")
    )


# Move in: the units a location can offer for a stay ------------------------------------------


def units_free_for(location: Location, starts_on: dt.date, ends_on: dt.date | None) -> QuerySet[Unit]:
    """The location's Available units with no booking (not cancelled) on any day from `starts_on`
    to `ends_on`, both the location's calendar days and included; no `ends_on` means open-ended."""
    overlapping = BookingUnit.objects.filter(booked_between(starts_on, ends_on), unit=OuterRef("pk"))
    return (
        Unit.objects.filter(location=location, status=UnitStatus.AVAILABLE)
        .exclude(Exists(overlapping))
        .select_related("unit_type")
        .order_by("number")
    )


def bookings_of_customer(customer: Customer) -> QuerySet[Booking]:
    """The account's bookings, newest first, with location and units (for the Your Bookings card)."""
    return (
        Booking.objects.filter(customer=customer)
        .select_related("location")
        .prefetch_related("units")
        .order_by("-starts_on", "-id")
    )

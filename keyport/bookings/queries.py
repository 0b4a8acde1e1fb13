import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404

from keyport.bookings.models import Booking, BookingUnit, booked_between
from keyport.facilities.models import Location, Unit, UnitStatus
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def get_booking_for_staff(user: StaffUser, booking_id: int) -> Booking:
    try:
        return (
            Booking.objects.select_related("location", "customer")
            .prefetch_related("units")
            .get(pk=booking_id, location__in=locations_for_staff(user))
        )
    except Booking.DoesNotExist:
        raise Http404("No such booking.") from None


def get_booking_for_operator(user: StaffUser, booking_id: int) -> Booking:
    """A booking to run (Revoke / Restore access, Retry): owners and managers of its location."""
    booking = get_booking_for_staff(user, booking_id)
    if not user.can_operate_location(booking.location):
        raise PermissionDenied
    return booking


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

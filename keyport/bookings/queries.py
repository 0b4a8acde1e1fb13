import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from keyport.bookings.models import Booking, BookingUnit
from keyport.facilities.models import Unit, UnitStatus
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


def units_free_for_transfer(booking: Booking, today: dt.date) -> QuerySet[Unit]:
    """The location's Available units that no booking holds on any day from today to the booking's end."""
    held = BookingUnit.objects.filter(unit=OuterRef("pk"), is_cancelled=False).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    )
    if booking.ends_on is not None:
        held = held.filter(starts_on__lte=booking.ends_on)
    return (
        Unit.objects.filter(location=booking.location, status=UnitStatus.AVAILABLE)
        .exclude(Exists(held))
        .order_by("number")
    )

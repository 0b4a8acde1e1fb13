from django.core.exceptions import PermissionDenied
from django.http import Http404

from keyport.bookings.models import Booking
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

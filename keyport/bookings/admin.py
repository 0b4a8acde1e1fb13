from django.contrib import admin

from keyport.bookings.models import Booking, BookingUnit
from keyport.lib.admin import ShownOnlyAdmin, ShownOnlyInline


class BookingUnitInline(ShownOnlyInline):
    model = BookingUnit
    fields = ["unit", "starts_on", "ends_on", "is_cancelled"]


@admin.register(Booking)
class BookingAdmin(ShownOnlyAdmin):
    """Bookings change only through the booking services, which keep their rules: a booking's
    grants and its shares' end with it, at the provider too (cancel it; it is never deleted)."""

    list_display = ["__str__", "customer", "location", "starts_on", "ends_on", "status"]
    list_filter = ["location", "status"]
    # What Rentals searches: the customer's name, its contacts' emails, the units' numbers.
    search_fields = ["customer__name", "customer__contacts__email", "booking_units__unit__number"]
    list_select_related = ["customer", "location"]
    inlines = [BookingUnitInline]

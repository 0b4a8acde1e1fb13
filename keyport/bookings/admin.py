from django.contrib import admin

from keyport.bookings.models import Booking, BookingUnit


class BookingUnitInline(admin.TabularInline):
    model = BookingUnit
    extra = 0
    fields = ["unit", "starts_on", "ends_on", "is_cancelled"]
    readonly_fields = ["unit", "starts_on", "ends_on", "is_cancelled"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-only: bookings change only through the booking services, which keep their rules."""

    list_display = ["__str__", "customer", "location", "starts_on", "ends_on", "status"]
    list_filter = ["location", "status"]
    search_fields = ["customer__name"]
    list_select_related = ["customer", "location"]
    inlines = [BookingUnitInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin

from keyport.events.models import Event, Ticket
from keyport.lib.admin import BoundedAdmin, BoundedInline


class TicketInline(BoundedInline):
    model = Ticket
    extra = 0
    raw_id_fields = ["contact"]


@admin.register(Event)
class EventAdmin(BoundedAdmin):
    list_display = ["title", "location", "starts_at", "capacity"]
    list_select_related = ["location"]
    inlines = [TicketInline]

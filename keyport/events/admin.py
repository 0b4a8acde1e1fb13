from django.contrib import admin

from keyport.events.models import Event, Ticket


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    raw_id_fields = ["contact"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "location", "starts_at", "capacity"]
    list_select_related = ["location"]
    inlines = [TicketInline]

from django.contrib import admin
from django.http import HttpRequest

from keyport.contacts.models import Contact, Customer, CustomerAppSettings, PortalLink


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["is_primary", "first_name", "last_name", "email", "phone", "can_access_portal"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "home_location", "created_at"]
    list_filter = ["kind", "is_active", "home_location"]
    search_fields = ["name", "contacts__email", "contacts__last_name"]
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "customer",
        "is_primary",
        "can_access_portal",
        "created_at",
    ]
    list_filter = ["is_primary", "can_access_portal", "customer__is_active", "customer__home_location"]
    search_fields = ["first_name", "last_name", "email", "phone"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]


@admin.register(PortalLink)
class PortalLinkAdmin(admin.ModelAdmin):
    """Read-only: links are made and used by the services; only their hash is stored."""

    list_display = ["sent_to", "purpose", "created_at", "expires_at", "used_at", "voided_at"]
    list_filter = ["purpose"]
    search_fields = ["sent_to"]
    list_select_related = ["contact"]
    readonly_fields = [field.name for field in PortalLink._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(CustomerAppSettings)
class CustomerAppSettingsAdmin(admin.ModelAdmin):
    list_display = ["location", "show_cars", "show_billing", "show_documents", "show_events", "show_settings"]

from django.contrib import admin

from keyport.contacts.models import Contact, Customer, CustomerAppSettings, PortalLink
from keyport.lib.admin import BoundedAdmin, ShownOnlyAdmin, ShownOnlyInline


class ContactInline(ShownOnlyInline):
    model = Contact
    fields = ["is_primary", "first_name", "last_name", "email", "phone", "can_access_portal"]


@admin.register(Customer)
class CustomerAdmin(ShownOnlyAdmin):
    """Changed in the dashboard: an account turned Inactive, a person's email or portal access
    changed there end sessions, void links and move the account's door access with it."""

    list_display = ["name", "kind", "is_active", "home_location", "created_at"]
    list_filter = ["kind", "is_active", "home_location"]
    search_fields = ["name", "contacts__email", "contacts__last_name"]
    inlines = [ContactInline]


@admin.register(Contact)
class ContactAdmin(ShownOnlyAdmin):
    """Changed in the dashboard's Add Contact / Edit Contact, as the account is."""

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
class PortalLinkAdmin(ShownOnlyAdmin):
    """Links are made and used by the services; only their hash is stored."""

    list_display = ["sent_to", "purpose", "created_at", "expires_at", "used_at", "voided_at"]
    list_filter = ["purpose"]
    search_fields = ["sent_to"]
    list_select_related = ["contact"]
    exclude = ["token_hash"]


@admin.register(CustomerAppSettings)
class CustomerAppSettingsAdmin(BoundedAdmin):
    list_display = ["location", "show_cars", "show_billing", "show_documents", "show_events", "show_settings"]

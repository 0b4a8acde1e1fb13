from django.contrib import admin

from keyport.emails.models import EmailTemplate, OutgoingEmail
from keyport.lib.admin import BoundedAdmin


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(BoundedAdmin):
    list_display = ["created_at", "to", "subject", "template", "status", "attempts"]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    readonly_fields = [field.name for field in OutgoingEmail._meta.fields]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(BoundedAdmin):
    """Edited in the dashboard (Email templates), where the template is checked and previewed."""

    list_display = ["key", "subject", "updated_at", "updated_by"]
    readonly_fields = ["key", "subject", "body_text", "updated_at", "updated_by"]

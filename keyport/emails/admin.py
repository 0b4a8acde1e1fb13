from django.contrib import admin

from keyport.emails.models import EmailTemplate, OutgoingEmail
from keyport.lib.admin import BoundedAdmin, ShownOnlyAdmin


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ShownOnlyAdmin):
    """The email log as sent, with each secret's placeholder in place of the secret; the secrets
    still waiting for the worker are never shown."""

    list_display = ["created_at", "to", "subject", "template", "status", "attempts"]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    exclude = ["secrets_to_send"]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(BoundedAdmin):
    """Edited in the dashboard (Email templates), where the template is checked and previewed."""

    list_display = ["key", "subject", "updated_at", "updated_by"]
    readonly_fields = ["key", "subject", "body_text", "updated_at", "updated_by"]

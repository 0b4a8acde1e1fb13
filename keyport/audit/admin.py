from django.contrib import admin

from keyport.audit.models import AuditEntry
from keyport.lib.admin import ShownOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ShownOnlyAdmin):
    """The audit log is written by services only; nobody edits history."""

    list_display = ["created_at", "actor_label", "action", "target_label", "location"]
    list_filter = ["action", "actor_kind", "location"]
    search_fields = ["actor_label", "target_label", "action"]
    date_hierarchy = "created_at"

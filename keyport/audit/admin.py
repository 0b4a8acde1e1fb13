from django.contrib import admin

from keyport.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "target_label", "location"]
    list_filter = ["action", "actor_kind", "location"]
    search_fields = ["actor_label", "target_label", "action"]
    date_hierarchy = "created_at"

    # The audit log is written by services only; nobody edits history.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from keyport.access.models import AccessEvent, AccessGrant, SensorbergAccount, SharedAccess, SyncIntent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Grants, their history and providers' logins are written by the access services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SensorbergAccount)
class SensorbergAccountAdmin(ReadOnlyAdmin):
    """Shown here, changed only in the dashboard's location settings (validated, audited, grants
    pushed again); the secret is never shown back."""

    list_display = ["location", "base_url", "client_id", "masked_secret"]
    fields = ["location", "base_url", "client_id", "masked_secret"]
    readonly_fields = ["masked_secret"]


@admin.register(AccessGrant)
class AccessGrantAdmin(ReadOnlyAdmin):
    list_display = ["pk", "holder", "unit", "origin", "starts_at", "ends_at", "state", "sync_state"]
    list_filter = ["state", "sync_state", "origin"]


@admin.register(SharedAccess)
class SharedAccessAdmin(ReadOnlyAdmin):
    list_display = ["pk", "booking", "holder", "starts_on", "ends_on", "state"]
    exclude = ["key_hash"]


@admin.register(SyncIntent)
class SyncIntentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "grant", "operation", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "operation"]


@admin.register(AccessEvent)
class AccessEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "location", "access_point", "holder", "channel", "allowed", "reason"]
    list_filter = ["allowed", "reason", "channel"]

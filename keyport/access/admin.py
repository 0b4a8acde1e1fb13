"""Grants, their history and providers' logins are written by the access services only."""

from django.contrib import admin

from keyport.access.models import AccessEvent, AccessGrant, SensorbergAccount, SharedAccess, SyncIntent
from keyport.lib.admin import ShownOnlyAdmin


@admin.register(SensorbergAccount)
class SensorbergAccountAdmin(ShownOnlyAdmin):
    """Shown here, changed only in the dashboard's location settings (validated, audited, grants
    pushed again); the secret is never shown back."""

    list_display = ["location", "base_url", "client_id", "masked_secret"]
    fields = ["location", "base_url", "client_id", "masked_secret"]
    readonly_fields = ["masked_secret"]


@admin.register(AccessGrant)
class AccessGrantAdmin(ShownOnlyAdmin):
    list_display = ["pk", "holder", "unit", "origin", "starts_at", "ends_at", "state", "sync_state"]
    list_filter = ["state", "sync_state", "origin"]


@admin.register(SharedAccess)
class SharedAccessAdmin(ShownOnlyAdmin):
    list_display = ["pk", "booking", "holder", "starts_on", "ends_on", "state"]
    exclude = ["key_hash"]


@admin.register(SyncIntent)
class SyncIntentAdmin(ShownOnlyAdmin):
    list_display = ["pk", "grant", "operation", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "operation"]


@admin.register(AccessEvent)
class AccessEventAdmin(ShownOnlyAdmin):
    list_display = ["occurred_at", "location", "access_point", "holder", "channel", "allowed", "reason"]
    list_filter = ["allowed", "reason", "channel"]

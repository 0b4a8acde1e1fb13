from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from keyport.access.models import AccessEvent, AccessGrant, SensorbergAccount, SharedAccess, SyncIntent


class SensorbergAccountForm(forms.ModelForm):
    base_url = forms.URLField(assume_scheme="https", help_text="The Sensorberg API's base URL.")
    # The secret is write-only: the form never renders it back, and leaving it empty keeps the old one.
    client_secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False), required=False, help_text="Leave empty to keep it."
    )

    class Meta:
        model = SensorbergAccount
        fields = ["location", "base_url", "client_id", "client_secret"]

    def clean_client_secret(self) -> str:
        secret: str = self.cleaned_data["client_secret"]
        if not secret and self.instance.pk:
            return self.instance.client_secret
        if not secret:
            raise forms.ValidationError("Enter the client secret Sensorberg issued.")
        return secret


@admin.register(SensorbergAccount)
class SensorbergAccountAdmin(admin.ModelAdmin):
    form = SensorbergAccountForm
    list_display = ["location", "base_url", "client_id", "masked_secret"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Grants and their history are written by the access services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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

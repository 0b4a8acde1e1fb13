import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from keyport.access.location_settings import SensorbergCredentials
from keyport.facilities.branding import LOGO_MAX_BYTES, BrandingChanges
from keyport.facilities.models import AccessProvider, Location
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm, BootstrapModelForm
from keyport.lib.email_addresses import normalize_email_address
from keyport.staff.authentication import ThrottledAuthenticationForm


def apply_errors(
    form: forms.BaseForm, error: ValidationError, rename: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on the form: each message beside its field, the rest above the form.

    `rename` maps the names the service uses (usually model fields) to the form's field names.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        field = (rename or {}).get(name, name)
        form.add_error(field if field in form.fields else None, messages)


class StaffSignInForm(ThrottledAuthenticationForm):
    username = form_fields.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return normalize_email_address(self.cleaned_data["username"])


class AccessMappingUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One row a unit: the unit number, then each access point's external identifier.",
    )


class LocationSettingsForm(BootstrapModelForm):
    time_zone = forms.ChoiceField(
        choices=[(zone, zone) for zone in sorted(zoneinfo.available_timezones())],
        help_text="Share windows and opening hours are read in this zone.",
    )

    class Meta:
        model = Location
        fields = ["name", "street", "postal_code", "city", "country", "time_zone"]


class AccessProviderForm(BootstrapForm):
    """The access provider and, for Sensorberg, its login. The secret is never rendered back."""

    access_provider = forms.ChoiceField(
        label="Access provider",
        choices=AccessProvider.choices,
        help_text="How doors learn who may open them.",
    )
    sensorberg_base_url = forms.CharField(
        label="Sensorberg base URL",
        required=False,
        max_length=200,
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
    )
    sensorberg_client_id = forms.CharField(label="Client id", required=False, max_length=200)
    sensorberg_client_secret = forms.CharField(
        label="Client secret",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, secret_is_set: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret_is_set = secret_is_set
        secret = self.fields["sensorberg_client_secret"]
        secret.help_text = (
            "Set. Leave empty to keep it; a new base URL needs it again."
            if secret_is_set
            else "Not set. Enter the secret Sensorberg issued."
        )

    def credentials(self) -> SensorbergCredentials:
        return SensorbergCredentials(
            base_url=self.cleaned_data.get("sensorberg_base_url", ""),
            client_id=self.cleaned_data.get("sensorberg_client_id", ""),
            client_secret=self.cleaned_data.get("sensorberg_client_secret", ""),
        )


class BrandingForm(BootstrapForm):
    """Settings > Website & customer app: how a site looks on the portal and in emails."""

    site_name = forms.CharField(label="Site name", required=False, max_length=120)
    colour = forms.CharField(
        label="Brand colour",
        required=False,
        help_text="As #RRGGBB, for example #1a73e8. Text on it turns white or dark, whichever reads better.",
        widget=forms.TextInput(attrs={"placeholder": "#1a73e8", "spellcheck": "false"}),
    )
    logo = forms.FileField(
        label="Logo",
        required=False,
        help_text=f"PNG or JPEG, up to {LOGO_MAX_BYTES // 1024 // 1024} MB; scaled down to fit the header.",
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label="Remove the logo", required=False)

    def __init__(self, *args: Any, default_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["site_name"].help_text = f"Shown on the portal and in emails. Empty uses {default_name}."

    def changes(self) -> BrandingChanges:
        return BrandingChanges(
            site_name=self.cleaned_data["site_name"],
            colour=self.cleaned_data["colour"],
            logo=self.cleaned_data["logo"],
            remove_logo=self.cleaned_data["remove_logo"],
        )


class OpeningHoursDayForm(forms.Form):
    """One weekday of the opening hours: closed, or open from one time to another."""

    is_open = forms.BooleanField(label="Open", required=False)
    opens_at = forms.TimeField(label="Opens", required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    closes_at = forms.TimeField(
        label="Closes", required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("is_open"):
            if data.get("opens_at") is None:
                self.add_error("opens_at", "Give the opening time.")
            if data.get("closes_at") is None:
                self.add_error("closes_at", "Give the closing time (00:00 for midnight).")
            opens, closes = data.get("opens_at"), data.get("closes_at")
            if opens is not None and closes is not None and closes != dt.time.min and closes <= opens:
                self.add_error("closes_at", "Closing time must be after opening time.")
        return data


# One form a weekday, Monday first: a post with fewer would close the missing days (or, with none,
# open the site around the clock), one with more names a day that does not exist.
OpeningHoursFormSet = forms.formset_factory(
    OpeningHoursDayForm, extra=0, min_num=7, max_num=7, validate_min=True, validate_max=True
)


def opening_hours_initial(location: Location) -> list[dict[str, Any]]:
    by_day = {hours.weekday: hours for hours in location.opening_hours.all()}
    return [
        {
            "is_open": day in by_day,
            "opens_at": by_day[day].opens_at if day in by_day else None,
            "closes_at": by_day[day].closes_at if day in by_day else None,
        }
        for day in range(7)
    ]


def opening_hours_from(formset: Any) -> list[tuple[int, dt.time, dt.time]]:
    return [
        (day, form.cleaned_data["opens_at"], form.cleaned_data["closes_at"])
        for day, form in enumerate(formset.forms)
        if form.cleaned_data.get("is_open")
    ]


class RevokeAccessForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        help_text=(
            "Shown to the tenant in the “Access revoked” email; their guests only learn that access "
            "was paused."
        ),
    )

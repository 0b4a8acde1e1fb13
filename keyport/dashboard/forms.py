import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from keyport.facilities.models import Location
from keyport.lib.email_addresses import normalize_email_address


class StaffSignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean_username(self) -> str:
        return normalize_email_address(self.cleaned_data["username"])


class AccessMappingUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="One row a unit: the unit number, then each access point's external identifier.",
    )


class LocationSettingsForm(forms.ModelForm[Location]):
    time_zone = forms.ChoiceField(
        choices=[(zone, zone) for zone in sorted(zoneinfo.available_timezones())],
        help_text="Share windows and opening hours are read in this zone.",
    )

    class Meta:
        model = Location
        fields = ["name", "street", "postal_code", "city", "country", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-select" if name == "time_zone" else "form-control"
            invalid = " is-invalid" if self.is_bound and name in self.errors else ""
            field.widget.attrs["class"] = css + invalid


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


OpeningHoursFormSet = forms.formset_factory(OpeningHoursDayForm, extra=0, min_num=7, max_num=7)


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

"""The search and filters of Rentals, read from the query string."""

from typing import Any

from django import forms

from keyport.bookings.models import BookingPhase
from keyport.frontdesk.queries import RentalDay, RentalFilters
from keyport.lib.bootstrap_forms import BootstrapForm

CURSOR_MAX_LENGTH = 200


class RentalsForm(BootstrapForm):
    q = forms.CharField(label="Search", required=False, max_length=200)
    phase = forms.ChoiceField(
        label="Phase", required=False, choices=[("", "All phases"), *BookingPhase.choices]
    )
    day = forms.ChoiceField(label="Today", required=False, choices=[("", "Any day"), *RentalDay.choices])
    after = forms.CharField(required=False, max_length=CURSOR_MAX_LENGTH, widget=forms.HiddenInput)
    before = forms.CharField(required=False, max_length=CURSOR_MAX_LENGTH, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = "Customer name, email or unit number"

    def filters(self) -> RentalFilters:
        return RentalFilters(
            search=self.cleaned_data["q"], phase=self.cleaned_data["phase"], day=self.cleaned_data["day"]
        )

    def is_filtered(self) -> bool:
        cleaned = getattr(self, "cleaned_data", {})
        return any(cleaned.get(key) for key in ("q", "phase", "day"))

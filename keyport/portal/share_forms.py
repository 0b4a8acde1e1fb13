"""The Manage Access form: guests' emails, units of this booking, a window of dates."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from keyport.access.services import ShareRequest
from keyport.bookings.models import Booking
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm
from keyport.lib.email_addresses import email_addresses_parse


class ShareForm(BootstrapForm):
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off"}),
        help_text="One or more, separated by commas or new lines. Each person gets their own key.",
    )
    units = form_fields.ModelMultipleChoiceField(  # type: ignore[var-annotated]
        queryset=None,  # set per booking: ids of other bookings' units are refused here
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": "Choose only units of this booking.",
            "required": "Choose at least one unit.",
        },
    )
    starts_on = form_fields.DateField(label="Start date", widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = form_fields.DateField(label="End date", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, booking: Booking, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = booking.units.order_by("number")  # type: ignore[attr-defined]

    def clean_emails(self) -> list[str]:
        return email_addresses_parse(self.cleaned_data["emails"])

    def share_request(self) -> ShareRequest:
        data = self.cleaned_data
        return ShareRequest(
            emails=data["emails"],
            units=list(data["units"]),
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
        )

    def parsed_share_request(self) -> ShareRequest | None:
        """What parsed of an invalid form, for checking the sharing rules too; None without both dates.

        Emails or units that did not parse count as none: their fields already show an error.
        """
        data = self.cleaned_data
        if "starts_on" not in data or "ends_on" not in data:
            return None
        return ShareRequest(
            emails=data.get("emails", []),
            units=list(data.get("units", [])),
            starts_on=data["starts_on"],
            ends_on=data["ends_on"],
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """The rules' errors beside their fields; a field that did not parse keeps only its own error."""
        for field, messages in error.message_dict.items():
            if field in self.errors and field != "__all__":
                continue
            self.add_error(None if field == "__all__" else field, messages)

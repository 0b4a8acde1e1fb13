"""The filters of a location's Access events page, read from the query string."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from keyport.access.queries import EventCursor
from keyport.facilities.models import Location, Unit
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm

BROKEN_CURSOR = "This link to older events is broken. Start again from the newest events."


class AccessEventsFilterForm(BootstrapForm):
    unit = form_fields.ModelChoiceField(queryset=Unit.objects.none(), required=False, empty_label="All units")
    decision = forms.ChoiceField(
        required=False,
        choices=[("", "Allowed and denied"), ("allowed", "Allowed only"), ("denied", "Denied only")],
    )
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, location: Location, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(location=location).order_by("number")  # type: ignore[attr-defined]
        self.fields["unit"].label_from_instance = lambda unit: unit.number  # type: ignore[attr-defined]

    def clean_before(self) -> EventCursor | None:
        text = self.cleaned_data["before"]
        if not text:
            return None
        try:
            return EventCursor.parse(text)
        except ValueError:
            raise ValidationError(BROKEN_CURSOR) from None

    def is_filtered(self) -> bool:
        """A unit or a decision is chosen (the page's cursor is no filter)."""
        cleaned = getattr(self, "cleaned_data", {})
        return bool(cleaned.get("unit") or cleaned.get("decision"))

    def allowed(self) -> bool | None:
        """True for allowed only, False for denied only, None for both."""
        return {"allowed": True, "denied": False}.get(self.cleaned_data["decision"])

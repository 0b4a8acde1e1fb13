"""Forms of ending or moving a booking: Move out, Cancel (a Reserved booking) and Transfer."""

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse

from keyport.bookings.models import Booking
from keyport.bookings.queries import units_free_for_transfer, units_held_by, units_to_transfer_from
from keyport.cars.models import Car
from keyport.cars.queries import cars_in_bays
from keyport.facilities.models import Unit
from keyport.frontdesk.services import CarOutcome
from keyport.lib import form_fields
from keyport.lib.bootstrap_forms import BootstrapForm

ACCESS_ENDS_NOW = "now"
ACCESS_ENDS_END_OF_DAY = "end_of_day"


class MoveOutForm(BootstrapForm):
    on = form_fields.DateField(label="Move-out date", widget=forms.DateInput(attrs={"type": "date"}))
    access_ends = forms.ChoiceField(
        label="When access ends",
        choices=[(ACCESS_ENDS_END_OF_DAY, "At the end of the day"), (ACCESS_ENDS_NOW, "Now")],
        initial=ACCESS_ENDS_END_OF_DAY,
        required=False,
        widget=forms.RadioSelect,
        help_text="For a move-out today. A later date is scheduled: access ends at the end of that day.",
    )

    def __init__(self, *args: Any, cars: list[Car], **kwargs: Any) -> None:
        """`cars`: those in the booking's bays; then the form asks what happens to them."""
        super().__init__(*args, **kwargs)
        self.cars = cars
        if cars:
            bays = ", ".join(car.bay.number for car in cars if car.bay)
            self.fields["car_outcome"] = forms.ChoiceField(
                label="What happens to the car",
                choices=CarOutcome.choices,
                widget=forms.RadioSelect,
                help_text=f"{', '.join(str(car) for car in cars)} is in bay {bays}. Either way the car is in "
                "no bay from this move-out, and a task for staff is recorded on its page and the Overview.",
            )

    def access_ends_now(self) -> bool:
        return self.cleaned_data["access_ends"] == ACCESS_ENDS_NOW

    def chosen_car_outcome(self) -> CarOutcome | None:
        value = self.cleaned_data.get("car_outcome")
        return CarOutcome(value) if value else None


class CancelBookingForm(BootstrapForm):
    reason = forms.CharField(max_length=300, help_text="Kept with the booking in the audit log.")


class TransferForm(BootstrapForm):
    on = form_fields.DateField(
        label="Transfer date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Today moves access now. A later date is scheduled: access moves at the start of that day.",
    )
    from_unit = form_fields.ModelChoiceField(label="From unit", queryset=Unit.objects.none())
    to_unit = form_fields.ModelChoiceField(
        label="To unit",
        queryset=Unit.objects.none(),
        help_text="Units of this location free from the transfer date to the booking's end.",
        error_messages={
            "invalid_choice": "This unit is not free from the transfer date to the booking's end: "
            "choose another one."
        },
    )

    monthly_rent = forms.DecimalField(
        label="Monthly rent of the new unit",
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        help_text="Empty: the new unit's price, or the rent paid now when it has none.",
    )

    def __init__(self, *args: Any, units: QuerySet[Unit], free_units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["to_unit"].queryset = free_units  # type: ignore[attr-defined]

    def transfer_on(self, today: dt.date) -> dt.date:
        return self.cleaned_data["on"] or today


def _day_given(data: QueryDict | None, today: dt.date) -> dt.date:
    """The transfer date the form was sent with, for the units free from it; else today."""
    try:
        given = dt.date.fromisoformat(data.get("on") or "" if data is not None else "")
    except ValueError:
        return today
    return max(given, today)


def transfer_form(
    booking: Booking, today: dt.date, data: QueryDict | None = None, *, picked: QueryDict | None = None
) -> TransferForm:
    """Transfer, bound to `data` when submitted; else offering the units free from the date
    `picked` names (what the desk chose so far, when the date changed), or from today."""
    units = units_to_transfer_from(booking, today)
    day = _day_given(data if data is not None else picked, today)
    initial: dict[str, object]
    if picked is not None:
        initial = {key: picked.get(key) for key in ("from_unit", "to_unit", "monthly_rent")} | {"on": day}
    else:
        first = units.first() if data is None else None
        initial = {"from_unit": first.pk, "on": today} if first else {"on": today}
    form = TransferForm(
        data,
        auto_id="id_transfer_%s",  # the booking page has Move out's fields too
        initial=initial,
        units=units,
        free_units=units_free_for_transfer(booking, day),
    )
    # A new date offers the units free from it: htmx refreshes the To unit field, and the form's
    # Show free units button does the same without JavaScript.
    form.fields["on"].widget.attrs.update(
        {
            "hx-get": reverse("dashboard:booking_transfer_units", args=[booking.pk]),
            "hx-trigger": "change",
            "hx-target": "#transfer-to-units",
            "hx-include": "#transfer-form",
            "hx-params": "not csrfmiddlewaretoken",
        }
    )
    return form


def move_out_form(booking: Booking, today: dt.date, data: QueryDict | None = None) -> MoveOutForm:
    return MoveOutForm(data, initial={"on": today}, cars=cars_in_bays(units_held_by(booking, today)))


def booking_ending_forms(
    booking: Booking, today: dt.date, given: Mapping[str, BootstrapForm]
) -> dict[str, Any]:
    """The booking page's Move out, Cancel and Transfer forms, those in `given` (by name) as given."""
    return {
        "move_out_form": given.get("move_out_form") or move_out_form(booking, today),
        "cancel_form": given.get("cancel_form") or CancelBookingForm(),
        "transfer_form": given.get("transfer_form") or transfer_form(booking, today),
        "scheduled_move_out": booking.ends_on if booking.ended_at is None else None,
    }

"""Staff actions that end or move a booking, from its page: Move out (now, at the end of today or
scheduled), Cancel move-out, Cancel a Reserved booking, Transfer to another unit (today or
scheduled) and Cancel transfer."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.bookings.queries import get_booking_for_operator
from keyport.dashboard.booking_forms import CancelBookingForm, move_out_form, transfer_form
from keyport.dashboard.booking_views import booking_detail
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities.models import Unit
from keyport.frontdesk.services import (
    booking_cancel_reservation,
    booking_move_out,
    booking_move_out_cancel,
    booking_transfer,
    booking_transfer_cancel,
)
from keyport.lib.times import local_day


@require_POST
@staff_required
def booking_move_out_view(request: StaffRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    form = move_out_form(booking, booking.location.local_now().date(), request.POST)
    if form.is_valid():
        try:
            booking = booking_move_out(
                actor=Actor.staff(request.user),
                booking=booking,
                on=form.cleaned_data["on"],
                access_ends_now=form.access_ends_now(),
                car_outcome=form.chosen_car_outcome(),
            )
        except ValidationError as error:
            apply_errors(form, error, rename={"access_ends_now": "access_ends"})
        else:
            messages.success(
                request, _moved_out_message(booking.ended_at is not None, form.cleaned_data["on"])
            )
            return redirect("dashboard:booking_detail", booking_id=booking.pk)
    return booking_detail(request, booking_id, move_out_form=form)


def _moved_out_message(ended_now: bool, on: dt.date) -> str:
    if ended_now:
        return "Moved out: access ended now, for the tenant and every share. The tenant was emailed."
    return (
        f"Move-out scheduled for {local_day(on)}: access ends at the end of that day. The tenant was emailed."
    )


@require_POST
@staff_required
def booking_move_out_cancel_view(request: StaffRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    try:
        booking_move_out_cancel(actor=Actor.staff(request.user), booking=booking)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Move-out cancelled: the booking is open-ended again.")
    return redirect("dashboard:booking_detail", booking_id=booking.pk)


@require_POST
@staff_required
def booking_cancel_view(request: StaffRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    form = CancelBookingForm(request.POST)
    if form.is_valid():
        try:
            booking_cancel_reservation(
                actor=Actor.staff(request.user), booking=booking, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, "Booking cancelled: it gave no access, and its units are Available again."
            )
            return redirect("dashboard:booking_detail", booking_id=booking.pk)
    return booking_detail(request, booking_id, cancel_form=form)


@require_POST
@staff_required
def booking_transfer_view(request: StaffRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    today = booking.location.local_now().date()
    if request.POST.get("action") == "show_units":
        return booking_detail(
            request, booking_id, transfer_form=transfer_form(booking, today, picked=request.POST)
        )
    form = transfer_form(booking, today, request.POST)
    if form.is_valid():
        from_unit, to_unit = form.cleaned_data["from_unit"], form.cleaned_data["to_unit"]
        on = form.transfer_on(today)
        try:
            booking_transfer(
                actor=Actor.staff(request.user),
                booking=booking,
                from_unit=from_unit,
                to_unit=to_unit,
                on=on,
                monthly_rent=form.cleaned_data["monthly_rent"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _transferred_message(from_unit, to_unit, on if on > today else None))
            return redirect("dashboard:booking_detail", booking_id=booking.pk)
    return booking_detail(request, booking_id, transfer_form=form)


@staff_required
def booking_transfer_units(request: StaffRequest, booking_id: int) -> HttpResponse:
    """The Transfer form's To unit field, offering the units free from the date it names (htmx)."""
    booking = get_booking_for_operator(request.user, booking_id)
    form = transfer_form(booking, booking.location.local_now().date(), picked=request.GET)
    return render(request, "dashboard/bookings/_transfer_to_units.html", {"transfer_form": form})


def _transferred_message(from_unit: Unit, to_unit: Unit, scheduled_on: dt.date | None) -> str:
    if scheduled_on is None:
        return f"Transferred from {from_unit.number} to {to_unit.number}: access and shares moved with it."
    return (
        f"Transfer from {from_unit.number} to {to_unit.number} scheduled for {local_day(scheduled_on)}: "
        "access and shares move at the start of that day."
    )


@require_POST
@staff_required
def booking_transfer_cancel_view(request: StaffRequest, booking_id: int, unit_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    unit = get_object_or_404(Unit, pk=unit_id, booking_units__booking=booking)
    try:
        booking_transfer_cancel(actor=Actor.staff(request.user), booking=booking, from_unit=unit)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Transfer cancelled: the booking keeps unit {unit.number}.")
    return redirect("dashboard:booking_detail", booking_id=booking.pk)

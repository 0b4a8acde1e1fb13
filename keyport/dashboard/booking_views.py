"""Staff pages of bookings' access: detail with grants and shares, Revoke / Restore access, events."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from keyport.access.queries import (
    access_loss_for_booking,
    all_shares_of_booking,
    booking_access_state,
    events_of_units,
    grants_failed_to_sync,
    grants_of_booking,
)
from keyport.access.services import booking_restore_access, booking_revoke_access, sync_intent_retry
from keyport.audit.services import Actor
from keyport.billing.queries import currency_of
from keyport.bookings.queries import (
    booking_units_held,
    get_booking_for_operator,
    get_booking_for_staff,
    transfers_scheduled,
)
from keyport.dashboard.booking_forms import booking_ending_forms
from keyport.dashboard.forms import RevokeAccessForm
from keyport.dashboard.grant_history import grants_with_history
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.lib.bootstrap_forms import BootstrapForm
from keyport.staff.queries import get_location_for_operator


@staff_required
def booking_detail(
    request: StaffRequest,
    booking_id: int,
    revoke_form: RevokeAccessForm | None = None,
    **ending_forms: BootstrapForm,
) -> HttpResponse:
    """The booking's page; a form given back with its errors (`revoke_form`, or one of
    `booking_ending_forms`' by name, bound) is shown with them, with status 400."""
    booking = get_booking_for_staff(request.user, booking_id)
    today = booking.location.local_now().date()
    held = booking_units_held(booking, today)
    units = [row.unit for row in held]
    can_operate = request.user.can_operate_location(booking.location)
    return render(
        request,
        "dashboard/bookings/detail.html",
        {
            **(booking_ending_forms(booking, today, ending_forms) if can_operate else {}),
            "booking": booking,
            "phase": booking.phase_label(today),
            "units": units,
            "rents": held,
            "monthly_rent": sum((row.monthly_rent for row in held), Decimal("0")),
            "currency": currency_of(booking.location),
            "scheduled_transfers": transfers_scheduled(booking, today),
            "access": booking_access_state(booking),
            "grants": grants_with_history(booking, grants_of_booking(booking)),
            "shares": all_shares_of_booking(booking),
            "events": events_of_units(units),
            "can_operate": can_operate,
            "revoke_form": revoke_form or RevokeAccessForm(),
        },
        status=400
        if revoke_form is not None or any(form.is_bound for form in ending_forms.values())
        else 200,
    )


@require_POST
@staff_required
def booking_revoke(request: StaffRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    form = RevokeAccessForm(request.POST)
    if form.is_valid() and request.POST.get("confirm") != "1":
        # Revoking shuts doors at once: first say whose, and ask.
        return render(
            request,
            "dashboard/bookings/confirm_revoke.html",
            {
                "booking": booking,
                "reason": form.cleaned_data["reason"],
                "loss": access_loss_for_booking(booking),
                "next": _safe_next(request),
            },
        )
    if form.is_valid():
        try:
            booking_revoke_access(
                actor=Actor.staff(request.user), booking=booking, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error("reason", error.message_dict.get("reason", error.messages))
        else:
            messages.success(request, "Access revoked for the booking and every share of it.")
            return _back(request, booking_id=booking.pk)
    return booking_detail(request, booking_id, revoke_form=form)


@require_POST
@staff_required
def booking_restore(request: StaffRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_operator(request.user, booking_id)
    booking_restore_access(actor=Actor.staff(request.user), booking=booking)
    messages.success(request, "Access restored, with the shares whose windows are still current.")
    return _back(request, booking_id=booking.pk)


@require_POST
@staff_required
def grant_sync_retry(request: StaffRequest, booking_id: int, grant_id: int) -> HttpResponse:
    """Retry on one grant of a booking whose sync failed."""
    booking = get_booking_for_operator(request.user, booking_id)
    grants = grants_of_booking(booking).filter(pk=grant_id)
    _retried_message(
        request, sync_intent_retry(actor=Actor.staff(request.user), location=booking.location, grants=grants)
    )
    return redirect("dashboard:booking_detail", booking_id=booking.pk)


@require_POST
@staff_required
def location_sync_retry(request: StaffRequest, location_id: int) -> HttpResponse:
    """Retry on every grant of a location whose sync failed: after the provider's outage."""
    location = get_location_for_operator(request.user, location_id)
    grants = grants_failed_to_sync(location)
    _retried_message(
        request, sync_intent_retry(actor=Actor.staff(request.user), location=location, grants=grants)
    )
    return redirect("dashboard:location_detail", location_id=location.pk)


def _retried_message(request: StaffRequest, retried: int) -> None:
    if retried:
        noun = "change" if retried == 1 else "changes"
        messages.success(request, f"{retried} {noun} sent to the provider again.")
    else:
        messages.info(request, "Nothing to retry: no change failed to reach the provider.")


def _back(request: StaffRequest, *, booking_id: int) -> HttpResponse:
    """To the page the form was posted from (`next`, e.g. the customer page), else the booking page.

    `next` comes from the request: only a URL of this site is followed.
    """
    target = _safe_next(request)
    if target:
        return redirect(target)
    return redirect("dashboard:booking_detail", booking_id=booking_id)


def _safe_next(request: StaffRequest) -> str:
    """`next` from the request when it is a URL of this site, else empty."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""

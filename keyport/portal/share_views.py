"""Manage Access: a tenant shares a booking's units with guests by email, and deletes shares.

Also the tenant's own Open buttons and PIN for the booking's doors, and the access events
of the customer's units (their guests' included).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from keyport.access.models import AccessEvent
from keyport.access.queries import (
    access_loss_for_share,
    access_points_of_units,
    events_for_customer,
    get_booking_for_customer,
    get_share_for_customer,
    holder_of_contact,
    mapped_unit_ids,
    shares_of_booking,
)
from keyport.access.services import (
    access_decide,
    share_create,
    share_delete,
    share_refusal,
    share_validate,
)
from keyport.access.services.doors import Door
from keyport.audit.models import ActorKind
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.bookings.queries import units_held_by
from keyport.lib.form_fields import latest_date
from keyport.lib.times import list_zone
from keyport.portal.door_outcome import door_outcome_keep, door_outcome_shown
from keyport.portal.sessions import PortalRequest, full_portal_required
from keyport.portal.share_forms import ShareForm


def _actor(request: PortalRequest) -> Actor:
    return Actor(
        kind=ActorKind.CONTACT,
        label=request.contact.email or request.contact.full_name,
        id=request.contact.pk,
    )


def _page(
    request: PortalRequest,
    booking: Booking,
    form: ShareForm,
    *,
    after_open: bool = False,
    status: int = 200,
) -> HttpResponse:
    """`after_open`: loaded right after an Open button, whose outcome the page shows once."""
    today = booking.location.local_now().date()
    units = units_held_by(booking, today)
    mapped = mapped_unit_ids(units)
    access_points = list(access_points_of_units(units))
    events = list(events_for_customer(request.customer))
    outcome = (
        door_outcome_shown(request, page=_outcome_page(booking), access_points=access_points)
        if after_open
        else {}
    )
    return render(
        request,
        "portal/share/manage.html",
        {
            "booking": booking,
            "form": form,
            "unit_rows": [(unit, unit.pk in mapped) for unit in units],
            "chosen": {str(v) for v in (form["units"].value() or [])},
            "shares": shares_of_booking(booking, today=today),
            "holder": holder_of_contact(booking.location, request.contact),
            "access_points": access_points,
            "events": events,
            "events_zone": list_zone(event.location for event in events),
            **outcome,
            "today": today,
            "phase": booking.phase_label(today),
            "latest": latest_date(),
            "share_refusal": share_refusal(booking, today=today),
        },
        status=status,
    )


@full_portal_required
def share_manage(request: PortalRequest, booking_id: int) -> HttpResponse:
    booking = get_booking_for_customer(request.customer, booking_id)
    if request.method != "POST":
        return _page(request, booking, ShareForm(booking=booking), after_open=True)
    form = ShareForm(request.POST, booking=booking)
    if form.is_valid():
        try:
            shares = share_create(
                actor=_actor(request),
                booking=booking,
                shared_by=request.contact,
                request=form.share_request(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            guests = ", ".join(share.holder.email for share in shares)
            told = "Each gets an email" if len(shares) > 1 else "They get an email"
            messages.success(request, f"Access shared with {guests}. {told} with their key.")
            return redirect("portal:share_manage", booking_id=booking.pk)
    else:
        _check_share_rules(form, booking)
    return _page(request, booking, form, status=400)


def _check_share_rules(form: ShareForm, booking: Booking) -> None:
    """Puts the sharing rules' errors on an invalid form too, so that the page shows every error at once."""
    share_request = form.parsed_share_request()
    if share_request is None:
        return
    try:
        share_validate(booking=booking, request=share_request, today=booking.location.local_now().date())
    except ValidationError as error:
        form.add_service_errors(error)


@require_POST
@full_portal_required
def share_remove(request: PortalRequest, booking_id: int, share_id: int) -> HttpResponse:
    share = get_share_for_customer(request.customer, share_id)
    if share.booking_id != booking_id:
        raise Http404("No such shared access.")
    if request.POST.get("confirm") != "1":
        # The guest's key stops at once: ask first, on a page of its own (no script needed).
        return render(
            request,
            "portal/share/confirm_delete.html",
            {"share": share, "booking": share.booking, "loss": access_loss_for_share(share)},
        )
    share_delete(actor=_actor(request), share=share)
    messages.success(
        request,
        gettext("Shared access for %(email)s deleted; their key no longer opens anything.")
        % {"email": share.holder.email},
    )
    return redirect("portal:share_manage", booking_id=booking_id)


@require_POST
@full_portal_required
def portal_open(request: PortalRequest, booking_id: int, access_point_id: int) -> HttpResponse:
    booking = get_booking_for_customer(request.customer, booking_id)
    access_point = access_points_of_units(list(booking.units.all())).filter(pk=access_point_id).first()
    holder = holder_of_contact(booking.location, request.contact)
    if access_point is None or holder is None:
        raise Http404("Not one of your doors.")
    decision = access_decide(door=Door.of(access_point), holder=holder, channel=AccessEvent.Channel.PORTAL)
    door_outcome_keep(
        request, page=_outcome_page(booking), access_point_id=access_point.pk, decision=decision
    )
    return redirect("portal:share_manage", booking_id=booking.pk)


def _outcome_page(booking: Booking) -> str:
    return f"booking:{booking.pk}"

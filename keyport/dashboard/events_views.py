"""Staff pages for events: create, invite, attendees and check-in; and marketplace leads."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.dashboard.sections_forms import CheckInCodeForm, EventForm, InviteForm, form_status
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.events import services
from keyport.events.models import Ticket
from keyport.events.queries import (
    attendees_of,
    events_for_staff,
    get_event_for_operator,
    get_event_for_staff,
    get_lead_for_operator,
    get_ticket_of_event,
    leads_for_staff,
)
from keyport.lib.times import list_zone
from keyport.staff.queries import get_locations_for_operator, locations_for_operator, staff_locations


def _errors(request: StaffRequest, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@staff_required
def event_list(request: StaffRequest) -> HttpResponse:
    events = list(events_for_staff(request.user))
    context = {
        "events": events,
        "events_zone": list_zone(event.location for event in events),
        "can_create": locations_for_operator(request.user).exists(),
    }
    return render(request, "dashboard/events/list.html", context)


@staff_required
def event_create(request: StaffRequest) -> HttpResponse:
    form = EventForm(request.POST or None, locations=get_locations_for_operator(request.user))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = services.event_create(
                actor=Actor.staff(request.user),
                location=data["location"],
                title=data["title"],
                starts_at=form.starts(),
                rsvp_deadline=form.local("rsvp_deadline"),
                place=data["place"],
                capacity=data["capacity"],
                description=data["description"],
            )
        except ValidationError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, "Event created. Invite people by email next.")
            return redirect("dashboard:event_detail", event_id=event.pk)
    return render(request, "dashboard/events/form.html", {"form": form}, status=form_status(request))


@staff_required
def event_detail(request: StaffRequest, event_id: int) -> HttpResponse:
    event = get_event_for_staff(request.user, event_id)
    context = {
        "event": event,
        "attendees": attendees_of(event),
        "invite_form": InviteForm(),
        "code_form": CheckInCodeForm(),
        "can_operate": request.user.can_operate_location(event.location),
    }
    return render(request, "dashboard/events/detail.html", context)


@require_POST
@staff_required
def event_invite(request: StaffRequest, event_id: int) -> HttpResponse:
    """Every staff role may invite, employees included."""
    event = get_event_for_staff(request.user, event_id)
    form = InviteForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(list(form.errors["emails"]))
        tickets = services.event_invite(
            actor=Actor.staff(request.user), event=event, emails=form.cleaned_data["emails"]
        )
        sent = len(tickets)
        messages.success(
            request,
            ngettext("%(count)d invitation sent.", "%(count)d invitations sent.", sent) % {"count": sent},
        )
    except ValidationError as error:
        _errors(request, error)
    return redirect("dashboard:event_detail", event_id=event.pk)


def _check_in(request: StaffRequest, ticket: Ticket) -> None:
    try:
        services.ticket_check_in(actor=Actor.staff(request.user), ticket=ticket)
        messages.success(request, f"{ticket.contact} is checked in.")
    except ValidationError as error:
        _errors(request, error)


@require_POST
@staff_required
def ticket_check_in(request: StaffRequest, event_id: int, ticket_id: int) -> HttpResponse:
    event = get_event_for_operator(request.user, event_id)
    _check_in(request, get_ticket_of_event(event, ticket_id))
    return redirect("dashboard:event_detail", event_id=event.pk)


@require_POST
@staff_required
def ticket_check_in_by_code(request: StaffRequest, event_id: int) -> HttpResponse:
    event = get_event_for_operator(request.user, event_id)
    form = CheckInCodeForm(request.POST)
    ticket = None
    if form.is_valid():
        ticket = event.tickets.select_related("contact").filter(code=form.cleaned_data["code"]).first()
    if ticket is None:
        messages.error(request, "No ticket of this event has that code.")
    else:
        _check_in(request, ticket)
    return redirect("dashboard:event_detail", event_id=event.pk)


@staff_required
def lead_list(request: StaffRequest) -> HttpResponse:
    locations = staff_locations(request.user)
    context = {
        "leads": leads_for_staff(request.user),
        "locations": locations,
        # Convert shows where it is allowed (`may_convert_lead`): a lead at a location they run.
        "convertible": {place.location.pk for place in locations if place.can_operate},
    }
    return render(request, "dashboard/events/leads.html", context)


@require_POST
@staff_required
def lead_convert(request: StaffRequest, customer_id: int) -> HttpResponse:
    lead = get_lead_for_operator(request.user, customer_id)
    services.lead_convert(actor=Actor.staff(request.user), customer=lead)
    messages.success(request, f"{lead} is now a storage customer with Full portal access.")
    return redirect("dashboard:lead_list")

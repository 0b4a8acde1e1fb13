"""The portal's Cars, Billing, Documents and Events sections, tickets and RSVP, and Register interest.

Every read goes through a query scoped to the signed-in person's account; ids from
the URL are looked up inside that scope, so another account's id is a 404.
"""

from collections.abc import Mapping
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from keyport.billing.pdf import invoice_pdf
from keyport.billing.queries import (
    balances_of_customer,
    get_invoice_for_customer,
    invoices_for_customer,
    overdue_among,
)
from keyport.cars.queries import cars_for_customer, get_photo_for_customer
from keyport.contacts.models import Contact
from keyport.contacts.queries import sections_for_customer
from keyport.contacts.services import contact_actor
from keyport.documents.queries import documents_for_customer, get_document_for_customer
from keyport.events import services as events
from keyport.events.queries import get_ticket_for_contact, ticket_qr_data_uri, tickets_for_contact
from keyport.facilities.models import Location
from keyport.lib.client_address import client_address
from keyport.lib.rate_limits import rate_limit_allows
from keyport.lib.times import list_zone
from keyport.payments.queries import pay_options_for, saved_cards_for_customer
from keyport.portal.payment_views import allow_checkout
from keyport.portal.sections_forms import InterestForm
from keyport.portal.sessions import (
    PortalRequest,
    full_portal_required,
    not_in_your_portal,
    portal_login_required,
    section_shown,
)

INTEREST_PER_HOUR = 10


def _section(
    request: PortalRequest, section: str, template: str, context: Mapping[str, object]
) -> HttpResponse:
    sections = sections_for_customer(request.customer)
    if not sections.shows(section):
        return not_in_your_portal(request)
    return render(request, template, {"sections": sections, "section": section, **context})


def _streamed(response: FileResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)  # streamed; the decorators only need a response


@full_portal_required
def cars(request: PortalRequest) -> HttpResponse:
    context = {"cars": cars_for_customer(request.customer), "home_location": request.customer.home_location}
    return _section(request, "cars", "portal/sections/cars.html", context)


@full_portal_required
def car_photo(request: PortalRequest, photo_id: int) -> HttpResponse:
    if not section_shown(request, "cars"):
        return not_in_your_portal(request)
    photo = get_photo_for_customer(request.customer, photo_id)
    # Always the resized copy: the original may be many megabytes and carry its camera's metadata.
    return _streamed(FileResponse(photo.thumbnail.open("rb"), content_type="image/jpeg"))


@full_portal_required
def billing(request: PortalRequest) -> HttpResponse:
    invoices = list(invoices_for_customer(request.customer))
    context = {
        "invoices": invoices,
        "overdue_ids": overdue_among(invoices),
        "balances": balances_of_customer(request.customer),
        "pay": pay_options_for(request.customer, invoices),
        "cards": saved_cards_for_customer(request.customer),
    }
    return allow_checkout(_section(request, "billing", "portal/sections/billing.html", context))


@full_portal_required
def invoice_pdf_download(request: PortalRequest, invoice_id: int) -> HttpResponse:
    if not section_shown(request, "billing"):
        return not_in_your_portal(request)
    invoice = get_invoice_for_customer(request.customer, invoice_id)
    response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{invoice.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@full_portal_required
def documents(request: PortalRequest) -> HttpResponse:
    # Dates of uploads: the day in the tenant's location, not in UTC.
    context = {"documents": documents_for_customer(request.customer), "time_zone": request.customer.time_zone}
    return _section(request, "documents", "portal/sections/documents.html", context)


@full_portal_required
def document_download(request: PortalRequest, document_id: int) -> HttpResponse:
    if not section_shown(request, "documents"):
        return not_in_your_portal(request)
    document = get_document_for_customer(request.customer, document_id)
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.download_name,
        content_type=document.content_type,
    )
    return _streamed(response)


def _tickets(contact: Contact) -> dict[str, Any]:
    """The person's tickets with their QR codes, and the zone their events' times share (if one)."""
    tickets = list(tickets_for_contact(contact))
    return {
        "tickets": [(ticket, ticket_qr_data_uri(ticket)) for ticket in tickets],
        "tickets_zone": list_zone(ticket.event.location for ticket in tickets),
    }


@portal_login_required  # Ticket-only people too: their events are what their portal is for
def events_section(request: PortalRequest) -> HttpResponse:
    return _section(request, "events", "portal/sections/events.html", _tickets(request.contact))


@portal_login_required
def tickets(request: PortalRequest) -> HttpResponse:
    """Every portal person has this page; for Ticket-only people it is the whole portal."""
    context = {"sections": sections_for_customer(request.customer), **_tickets(request.contact)}
    return render(request, "portal/sections/tickets.html", context)


@require_POST
@portal_login_required
def ticket_rsvp(request: PortalRequest, ticket_id: int) -> HttpResponse:
    ticket = get_ticket_for_contact(request.contact, ticket_id)
    going = request.POST.get("going") == "1"
    try:
        events.ticket_respond(actor=contact_actor(request.contact), ticket=ticket, going=going)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "See you there!" if going else "Thanks for letting us know.")
    back = "portal:events" if request.POST.get("from") == "events" else "portal:tickets"
    return redirect(back)


def register_interest(request: PortalRequest, location_id: int) -> HttpResponse:
    """The public Register interest page of one site: no sign-in, the same answer for everyone."""
    location = get_object_or_404(Location, pk=location_id)  # sites are public
    form = InterestForm(request.POST or None)
    if request.method == "POST" and not rate_limit_allows(
        scope="interest", identity=client_address(request), limit=INTEREST_PER_HOUR, window_seconds=3600
    ):
        context = {"location": location, "form": form, "too_many": True}
        return render(request, "portal/sections/interest.html", context, status=429)
    if request.method == "POST" and form.is_valid():
        events.interest_register(location=location, **form.cleaned_data)
        return render(request, "portal/sections/interest_thanks.html", {"location": location})
    status = 400 if request.method == "POST" else 200
    return render(
        request, "portal/sections/interest.html", {"location": location, "form": form}, status=status
    )

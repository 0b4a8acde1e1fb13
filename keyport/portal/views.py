"""The customer portal's own pages: home with Your Bookings, the sections, tickets, sign-out."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyport.contacts.models import PortalAccess
from keyport.contacts.queries import (
    bookings_of_customer,
    cars_of_customer,
    sections_for_customer,
)
from keyport.portal.access import (
    PortalRequest,
    full_portal_required,
    not_in_your_portal,
    portal_login_required,
    portal_session_end,
)


@portal_login_required
def home(request: PortalRequest) -> HttpResponse:
    if request.portal_access != PortalAccess.FULL:
        return redirect("portal:tickets")
    return render(
        request,
        "portal/home.html",
        {
            "bookings": bookings_of_customer(request.customer),
            "sections": sections_for_customer(request.customer),
        },
    )


@portal_login_required
def tickets(request: PortalRequest) -> HttpResponse:
    """Every portal person has this page; for Ticket-only people it is the whole portal."""
    return render(request, "portal/tickets.html", {"sections": sections_for_customer(request.customer)})


def _section(request: PortalRequest, section: str, template: str, **context: object) -> HttpResponse:
    sections = sections_for_customer(request.customer)
    if not sections.shows(section):
        return not_in_your_portal(request)
    return render(request, template, {"sections": sections, "section": section, **context})


@full_portal_required
def cars(request: PortalRequest) -> HttpResponse:
    return _section(request, "cars", "portal/cars.html", cars=cars_of_customer(request.customer))


@full_portal_required
def billing(request: PortalRequest) -> HttpResponse:
    return _section(request, "billing", "portal/billing.html")


@full_portal_required
def documents(request: PortalRequest) -> HttpResponse:
    return _section(request, "documents", "portal/documents.html")


@full_portal_required
def events(request: PortalRequest) -> HttpResponse:
    return _section(request, "events", "portal/events.html")


@full_portal_required
def account_settings(request: PortalRequest) -> HttpResponse:
    return _section(request, "settings", "portal/settings.html")


@require_POST
def sign_out(request: PortalRequest) -> HttpResponse:
    portal_session_end(request)
    return redirect("sign_in:login")

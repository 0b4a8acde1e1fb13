"""The customer portal's own pages: home with Your Bookings, tickets, sign-out (sections: sections_views)."""

from collections.abc import Iterable

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyport.bookings.models import Booking, BookingPhase
from keyport.bookings.queries import bookings_of_customer, units_held_by
from keyport.contacts.models import PortalAccess
from keyport.contacts.queries import portal_location, portal_login_path, sections_for_customer
from keyport.portal.sessions import (
    PortalRequest,
    portal_contact,
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
            "bookings": _current_first(bookings_of_customer(request.customer)),
            "sections": sections_for_customer(request.customer),
        },
    )


# Your Bookings lists what runs now first, then what is coming, then what is over.
_PHASE_ORDER = {
    BookingPhase.CURRENT.label: 0,
    BookingPhase.ENDING_SOON.label: 0,
    BookingPhase.RESERVED.label: 1,
    BookingPhase.ENDED.label: 2,
    BookingPhase.CANCELLED.label: 2,
}


def _current_first(bookings: Iterable[Booking]) -> list[Booking]:
    """Each booking with its phase and units (newest first within a phase), current ones first."""
    shown = [_with_phase_and_units(booking) for booking in bookings]
    return sorted(shown, key=lambda booking: _PHASE_ORDER[booking.phase])  # type: ignore[attr-defined]


def _with_phase_and_units(booking: Booking) -> Booking:
    """The booking with `phase` (Reserved, Current, Ending soon, Ended, Cancelled) and `held_units`
    as of today at its location: a unit a transfer takes over on a later day is not yet among them."""
    today = booking.location.local_now().date()
    booking.phase = booking.phase_label(today)  # type: ignore[attr-defined]
    booking.held_units = units_held_by(booking, today)  # type: ignore[attr-defined]
    return booking


@portal_login_required
def tickets(request: PortalRequest) -> HttpResponse:
    """Every portal person has this page; for Ticket-only people it is the whole portal."""
    return render(request, "portal/tickets.html", {"sections": sections_for_customer(request.customer)})


@require_POST
def sign_out(request: PortalRequest) -> HttpResponse:
    """Back to the login page, still in the person's site's branding."""
    contact = portal_contact(request)
    location = portal_location(contact.customer) if contact is not None else None
    portal_session_end(request)
    return redirect(portal_login_path(location))

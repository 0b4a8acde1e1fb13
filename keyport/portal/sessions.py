"""Who may use the customer portal.

Portal sign-in is not Django authentication: customers and their contacts are never
Django users. The session holds the contact's id and the contact's `session_epoch` at
sign-in; raising the epoch (email changed, portal access off, account Inactive) ends
that person's sessions on every device, because each request compares the two. A sign-in
lasts KEYPORT_PORTAL_SESSION_DAYS from the moment it was made, however often it is used.

Views use the decorators:

    @portal_login_required   any signed-in contact, Full or Ticket-only
    @full_portal_required    Full only; Ticket-only gets the "not part of your portal" page (404)

Both set `request.contact`, `request.customer` and `request.portal_access`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from keyport.contacts.models import Contact, Customer, PortalAccess
from keyport.contacts.queries import sections_for_customer
from keyport.frontdesk.queries import get_portal_contact

SESSION_CONTACT_ID = "portal_contact_id"
SESSION_EPOCH = "portal_session_epoch"
SESSION_SIGNED_IN_AT = "portal_signed_in_at"

View = Callable[..., HttpResponse]


class PortalRequest(HttpRequest):
    contact: Contact
    customer: Customer
    portal_access: PortalAccess


def portal_session_start(request: HttpRequest, contact: Contact) -> None:
    """Sign a contact in on this browser. A new session key, so a planted one is worthless."""
    request.session.cycle_key()
    request.session[SESSION_CONTACT_ID] = contact.pk
    request.session[SESSION_EPOCH] = contact.session_epoch
    request.session[SESSION_SIGNED_IN_AT] = int(timezone.now().timestamp())


def portal_session_end(request: HttpRequest) -> None:
    """Sign the portal contact out of this browser (a staff sign-in in the same browser stays)."""
    request.session.pop(SESSION_CONTACT_ID, None)
    request.session.pop(SESSION_EPOCH, None)
    request.session.pop(SESSION_SIGNED_IN_AT, None)
    request.session.cycle_key()


def portal_contact(request: HttpRequest) -> Contact | None:
    """The contact signed in on this request, or None; a stale session is ended on the way."""
    contact_id = request.session.get(SESSION_CONTACT_ID)
    if not isinstance(contact_id, int):
        return None
    if _sign_in_expired(request):
        portal_session_end(request)
        return None
    contact = get_portal_contact(contact_id)
    valid = (
        contact is not None
        and contact.session_epoch == request.session.get(SESSION_EPOCH)
        and contact.may_sign_in
    )
    if not valid:
        portal_session_end(request)
        return None
    return contact


def _sign_in_expired(request: HttpRequest) -> bool:
    now = int(timezone.now().timestamp())
    signed_in_at = request.session.get(SESSION_SIGNED_IN_AT)
    if not isinstance(signed_in_at, int):
        # Signed in before sign-ins were timed: timed from now on.
        request.session[SESSION_SIGNED_IN_AT] = now
        return False
    return now - signed_in_at > settings.KEYPORT_PORTAL_SESSION_DAYS * 24 * 60 * 60


def _attach(request: HttpRequest, contact: Contact) -> PortalRequest:
    portal_request: Any = request
    portal_request.contact = contact
    portal_request.customer = contact.customer
    portal_request.portal_access = contact.portal_access()
    return portal_request


def portal_login_required(view: View) -> View:
    """A signed-in portal contact of any access level; anyone else goes to the login page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = portal_contact(request)
        if contact is None:
            return redirect("sign_in:login")
        return view(_attach(request, contact), *args, **kwargs)

    return wrapper


def full_portal_required(view: View) -> View:
    """Full portal access only. Ticket-only people get a 404 page that says where to go instead."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        contact = portal_contact(request)
        if contact is None:
            return redirect("sign_in:login")
        portal_request = _attach(request, contact)
        if portal_request.portal_access != PortalAccess.FULL:
            return not_in_your_portal(portal_request)
        return view(portal_request, *args, **kwargs)

    return wrapper


def not_in_your_portal(request: PortalRequest) -> HttpResponse:
    """The refusal for a page this person's portal does not have (Ticket-only, or a section turned off)."""
    return render(request, "portal/not_in_your_portal.html", status=404)


def section_shown(request: PortalRequest, section: str) -> bool:
    """Whether the operator shows this section of the portal on the person's site; a section turned
    off is not reached by its URLs either."""
    return sections_for_customer(request.customer).shows(section)

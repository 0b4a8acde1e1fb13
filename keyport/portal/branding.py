"""The site's name, logo and colour on portal pages (a template context processor).

A signed-in customer sees their location's branding. A public page (the login page and what
follows it) shows the location its address names (/login/?location=3), else the only location's,
else the install's default. A page about one location (the guest key page, a sign-in link) puts
that location's branding in its context as `brand` itself, which the context processor's yields to.
Lazy, so pages that never show `brand` (the dashboard) make no query for it.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from keyport.contacts.models import Contact
from keyport.contacts.queries import LOGIN_LOCATION_PARAMETER, portal_location
from keyport.facilities.models import Branding
from keyport.facilities.queries import branding_for, location_named_by


def portal_branding(request: HttpRequest) -> dict[str, Any]:
    return {"brand": SimpleLazyObject(lambda: branding_for_request(request))}


def branding_for_request(request: HttpRequest) -> Branding:
    customer = getattr(request, "customer", None)
    if customer is not None:
        return branding_for(portal_location(customer))
    named = request.GET.get(LOGIN_LOCATION_PARAMETER) or request.POST.get(LOGIN_LOCATION_PARAMETER) or ""
    return branding_for(location_named_by(named))


def branding_of_contact(contact: Contact) -> Branding:
    """The branding a person's portal shows, for the pages before they are signed in."""
    return branding_for(portal_location(contact.customer))

"""The site's name, logo and colour on portal pages (a template context processor).

A signed-in customer sees their location's branding. The login page and guest pages are not
per site: they show the only location's branding, or the install's default when there are several.
Lazy, so pages that never show `brand` (the dashboard) make no query for it.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from keyport.contacts.queries import portal_location
from keyport.facilities.models import Branding
from keyport.facilities.queries import branding_for


def portal_branding(request: HttpRequest) -> dict[str, Any]:
    return {"brand": SimpleLazyObject(lambda: branding_for_request(request))}


def branding_for_request(request: HttpRequest) -> Branding:
    customer = getattr(request, "customer", None)
    return branding_for(portal_location(customer) if customer is not None else None)

"""Who may use the staff dashboard."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from keyport.facilities.models import Location
from keyport.facilities.queries import get_location_for_staff
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


class StaffRequest(HttpRequest):
    user: StaffUser


View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Signed-in, active staff only; anyone else is sent to the staff sign-in page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not isinstance(request.user, StaffUser) or not request.user.is_active:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def location_for_owner(request: StaffRequest, location_id: int) -> Location:
    """A location for an owners-only page: 404 when out of the staff member's reach, 403 for non-owners."""
    location = get_location_for_staff(locations_for_staff(request.user), location_id)
    if not request.user.is_owner:
        raise PermissionDenied
    return location

"""Who may use the staff dashboard."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from keyport.staff.authentication import needs_two_factor_setup
from keyport.staff.models import StaffUser


class StaffRequest(HttpRequest):
    user: StaffUser


View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Signed-in, active staff only; anyone else is sent to the staff sign-in page. Someone who
    must use two-factor sign-in and has none yet is sent to set it up first."""

    @staff_signed_in
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if needs_two_factor_setup(request):
            return redirect("dashboard:two_factor")
        return view(request, *args, **kwargs)

    return wrapper


def staff_signed_in(view: View) -> View:
    """Signed-in, active staff, whether or not they still have two-factor sign-in to set up: for
    the page that sets it up."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not isinstance(request.user, StaffUser) or not request.user.is_active:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def owner_required(view: View) -> View:
    """Staff only, and 403 for managers and employees: for owners' pages of no one location
    (Email templates, the customer app overview). A page of one location uses
    `get_location_for_owner` instead, which also answers 404 out of reach."""

    @staff_required
    @wraps(view)
    def wrapper(request: StaffRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_owner:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper

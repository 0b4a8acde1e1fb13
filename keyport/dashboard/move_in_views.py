"""The front desk: New customer, and Move in at a location."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render

from keyport.audit.services import Actor
from keyport.contacts.services import new_customer_create
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.move_in_forms import MoveInForm, NewCustomerForm
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.frontdesk.services import booking_move_in
from keyport.staff.queries import get_location_for_operator, get_locations_for_operator

# The service's names for what Move in's form asks as a new customer, or per unit.
MOVE_IN_FIELDS = {"name": "new_name", "email": "new_email", "phone": "new_phone", "monthly_rents": "units"}
# The parts of Move in that htmx refreshes: the free units (dates changed), the customers (search).
PARTIALS = {
    "free-units": "dashboard/move_in/_free_units.html",
    "customer-choices": "dashboard/move_in/_customer_choices.html",
}


@staff_required
def customer_new(request: StaffRequest) -> HttpResponse:
    """New customer: at a home location the staff member runs; lands on the customer's page."""
    get_locations_for_operator(request.user)
    form = NewCustomerForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            customer = new_customer_create(actor=Actor.staff(request.user), new=form.new_customer())
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{customer.name} is a customer now. Move in to rent them a unit.")
            return redirect("dashboard:customer_detail", customer_id=customer.pk)
    status = 400 if form.is_bound else 200
    return render(request, "dashboard/move_in/new_customer.html", {"form": form}, status=status)


@staff_required
def move_in(request: StaffRequest, location_id: int) -> HttpResponse:
    """Move in: pick (or open) a customer, dates and free units with their rents; "Show free units"
    and the customer search re-render the form without JavaScript, htmx refreshes their parts."""
    location = get_location_for_operator(request.user, location_id)
    submitted = request.method == "POST" and request.POST.get("action") == "move_in"
    picked = None if submitted else _picked(request.POST if request.method == "POST" else request.GET)
    form = MoveInForm(
        request.POST if submitted else None,
        initial=picked,
        user=request.user,
        location=location,
        refresh_url=request.path,
    )
    if submitted and form.is_valid():
        try:
            booking = booking_move_in(
                staff=request.user, customer=form.customer_or_new(), move_in=form.move_in()
            )
        except ValidationError as error:
            apply_errors(form, error, rename=MOVE_IN_FIELDS)
        else:
            messages.success(request, f"Moved in: {booking.customer.name}. The Welcome email is on its way.")
            return redirect("dashboard:booking_detail", booking_id=booking.pk)
    form.offer()
    context = {"location": location, "form": form}
    partial = PARTIALS.get(request.htmx.target or "") if request.htmx else None  # type: ignore[attr-defined]
    if partial is not None:
        return render(request, partial, context)
    return render(request, "dashboard/move_in/form.html", context, status=400 if submitted else 200)


def _picked(query: QueryDict) -> dict[str, Any]:
    """What the desk has chosen so far, as the form's initial values: `?customer=` and `?unit=`
    from the customer's page and the Units page, or the fields of a form re-rendered to refresh."""
    picked: dict[str, Any] = {key: query.get(key) for key in query if key not in {"units", "unit"}}
    picked["units"] = query.getlist("units") or query.getlist("unit")
    return picked

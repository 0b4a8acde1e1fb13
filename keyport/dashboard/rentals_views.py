"""Rentals: every booking of a location, or of all the staff member's locations, by phase."""

from django.http import HttpResponse
from django.shortcuts import redirect, render

from keyport.access.queries import events_of_location
from keyport.dashboard.rentals_forms import RentalsForm
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.frontdesk.queries import RentalScope, filter_rentals, rentals_page
from keyport.staff.queries import get_location_for_staff

PAGE_SIZE = 50


@staff_required
def rentals(request: StaffRequest) -> HttpResponse:
    scope = RentalScope.for_staff(request.user)
    return _rentals(request, scope, {"locations": list(scope.locations.values())})


@staff_required
def location_rentals(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_staff(request.user, location_id)
    context = {
        "location": location,
        "events": events_of_location(location),
    }
    return _rentals(request, RentalScope.of([location]), context)


@staff_required
def location_bookings(request: StaffRequest, location_id: int) -> HttpResponse:
    """The old address of a location's bookings: Rentals took its place."""
    location = get_location_for_staff(request.user, location_id)
    return redirect("dashboard:location_rentals", location_id=location.pk, permanent=True)


def _rentals(request: StaffRequest, scope: RentalScope, context: dict[str, object]) -> HttpResponse:
    form = RentalsForm(request.GET)
    context = {**context, "form": form, "page": None}
    if not form.is_valid():
        return render(request, "dashboard/rentals/list.html", context, status=400)
    context["page"] = rentals_page(
        filter_rentals(scope.bookings(), form.filters(), scope),
        scope=scope,
        after=form.cleaned_data["after"],
        before=form.cleaned_data["before"],
        size=PAGE_SIZE,
    )
    return render(request, "dashboard/rentals/list.html", context)

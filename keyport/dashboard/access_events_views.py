"""Staff page of a location's access events: every decision, filtered and paged."""

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from keyport.access.models import AccessHolder
from keyport.access.queries import events_page
from keyport.dashboard.access_events_forms import AccessEventsFilterForm
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.dashboard.why_cant_forms import why_cant_context
from keyport.facilities.models import AccessPoint
from keyport.staff.queries import get_location_for_staff


@staff_required
def location_access_events(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_staff(request.user, location_id)
    form = AccessEventsFilterForm(request.GET, location=location)
    why, why_refused = why_cant_context(
        request.GET,
        access_points=AccessPoint.objects.filter(location=location),
        holders=AccessHolder.objects.filter(location=location),
    )
    action = reverse("dashboard:location_access_events", args=[location.pk])
    context = {"location": location, "form": form, "page": None, "why_action": action, **why}
    if not form.is_valid():
        if form.has_error("unit"):
            raise Http404("No such unit at this location.")
        return render(request, "dashboard/bookings/access_events.html", context, status=400)
    context["page"] = events_page(
        location,
        unit=form.cleaned_data["unit"],
        allowed=form.allowed(),
        before=form.cleaned_data["before"],
    )
    return render(
        request, "dashboard/bookings/access_events.html", context, status=400 if why_refused else 200
    )

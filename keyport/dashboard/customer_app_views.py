"""Settings > Website & customer app: which portal sections each location's customers see."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render

from keyport.audit.services import Actor
from keyport.contacts.models import CustomerAppSettings
from keyport.contacts.queries import PORTAL_SECTIONS, sections_of_location
from keyport.contacts.services import CUSTOMER_APP_SECTIONS, customer_app_settings_update
from keyport.dashboard.access import StaffRequest, staff_required
from keyport.dashboard.contact_forms import CustomerAppForm
from keyport.facilities.queries import get_location_for_staff
from keyport.staff.queries import locations_for_staff


@staff_required
def customer_app(request: StaffRequest) -> HttpResponse:
    if not request.user.is_owner:
        raise PermissionDenied
    locations = list(locations_for_staff(request.user))
    rows = {row.location_id: row for row in CustomerAppSettings.objects.filter(location__in=locations)}
    overview = [(location, sections_of_location(rows.get(location.pk))) for location in locations]
    return render(request, "dashboard/customer_app/overview.html", {"overview": overview})


@staff_required
def location_customer_app(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_staff(locations_for_staff(request.user), location_id)
    if not request.user.is_owner:
        raise PermissionDenied
    sections = sections_of_location(CustomerAppSettings.objects.filter(location=location).first())
    initial = {f"show_{name}": sections.shows(name) for name in PORTAL_SECTIONS}
    form = CustomerAppForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        customer_app_settings_update(
            actor=Actor.staff(request.user),
            location=location,
            sections={name: form.cleaned_data[name] for name in CUSTOMER_APP_SECTIONS},
        )
        messages.success(request, "Customer app settings saved. Customers see the change on their next page.")
        return redirect("dashboard:location_customer_app", location_id=location.pk)
    return render(request, "dashboard/customer_app/location.html", {"location": location, "form": form})

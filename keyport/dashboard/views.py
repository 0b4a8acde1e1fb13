from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from keyport.audit.queries import recent_entries_for_staff
from keyport.audit.services import Actor
from keyport.dashboard.access import StaffRequest, staff_required
from keyport.dashboard.forms import (
    AccessMappingUploadForm,
    LocationSettingsForm,
    OpeningHoursFormSet,
    opening_hours_from,
    opening_hours_initial,
)
from keyport.facilities.queries import get_location_for_staff, locations_with_counts, units_of_location
from keyport.facilities.services import location_set_opening_hours, location_update, unit_mappings_import
from keyport.staff.queries import locations_for_staff


@staff_required
def home(request: StaffRequest) -> HttpResponse:
    locations = locations_for_staff(request.user)
    return render(
        request,
        "dashboard/home.html",
        {
            "locations": locations_with_counts(locations, timezone.localdate()),
            "audit_entries": recent_entries_for_staff(request.user, limit=15),
        },
    )


@staff_required
def location_detail(
    request: StaffRequest, location_id: int, mapping_form: AccessMappingUploadForm | None = None
) -> HttpResponse:
    location = get_location_for_staff(locations_for_staff(request.user), location_id)
    today = location.local_now().date()
    return render(
        request,
        "dashboard/location_detail.html",
        {
            "location": location,
            "units": units_of_location(location, today),
            "today": today,
            "can_operate": request.user.can_operate_location(location),
            "mapping_form": mapping_form or AccessMappingUploadForm(),
        },
        status=400 if mapping_form is not None else 200,
    )


@require_POST
@staff_required
def location_mapping_upload(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_staff(locations_for_staff(request.user), location_id)
    if not request.user.can_operate_location(location):
        raise PermissionDenied
    form = AccessMappingUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            count = unit_mappings_import(
                actor=Actor.staff(request.user), location=location, data=form.cleaned_data["file"].read()
            )
        except ValidationError as error:
            form.add_error("file", error.message_dict["file"])
        else:
            messages.success(request, f"Access points mapped for {count} units.")
            return redirect("dashboard:location_detail", location_id=location.pk)
    return location_detail(request, location_id, mapping_form=form)


@staff_required
def location_settings(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_staff(locations_for_staff(request.user), location_id)
    if not request.user.is_owner:
        raise PermissionDenied
    form = LocationSettingsForm(request.POST or None, instance=location)
    hours = OpeningHoursFormSet(request.POST or None, initial=opening_hours_initial(location), prefix="hours")
    if request.method == "POST" and form.is_valid() and hours.is_valid():
        actor = Actor.staff(request.user)
        with transaction.atomic():
            location_update(actor=actor, location=location, **{k: form.cleaned_data[k] for k in form.fields})
            location_set_opening_hours(actor=actor, location=location, hours=opening_hours_from(hours))
        messages.success(request, "Location settings saved.")
        return redirect("dashboard:location_settings", location_id=location.pk)
    status = 400 if request.method == "POST" else 200
    context = {"location": location, "form": form, "hours": hours}
    return render(request, "dashboard/location_settings.html", context, status=status)

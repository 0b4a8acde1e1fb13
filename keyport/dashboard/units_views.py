"""The Units page of a location and the pages that add, edit, retire and import units and unit types."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.billing.queries import currency_of
from keyport.bookings.queries import get_unit_for_operator, get_unit_type_for_operator, unit_types_of
from keyport.bookings.unit_states import UnitFilters, UnitsOnDay
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.dashboard.units_forms import (
    OutOfServiceForm,
    UnitAccessPointsForm,
    UnitFiltersForm,
    UnitForm,
    UnitsImportForm,
    UnitTypeForm,
    unit_type_initial,
)
from keyport.dashboard.units_rows import unit_rows, units_table_rows
from keyport.facilities import csv_imports
from keyport.facilities import services as facilities
from keyport.facilities.mapping_import import MAX_BYTES as CSV_MAX_BYTES
from keyport.facilities.models import ACCESS_POINT_IN_SERVICE, Location, Unit
from keyport.staff.queries import get_location_for_operator, get_location_for_staff


@staff_required
def location_units(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_staff(request.user, location_id)
    today = location.local_now().date()
    query = request.GET.dict()
    form = UnitFiltersForm(query | {"day": query.get("day") or today}, location=location)
    valid = form.is_valid()
    day = form.cleaned_data["day"] if valid else today
    filters = form.filters() if valid else UnitFilters()
    page, units = UnitsOnDay.of(location, day, timezone.now()).page(
        filters, form.cleaned_data.get("page") or 1 if valid else 1
    )
    can_manage = request.user.can_operate_location(location)
    rows = units_table_rows(
        unit_rows(units, day),
        can_manage=can_manage,
        move_in_url=reverse("dashboard:move_in", args=[location.pk]),
        currency=currency_of(location),
    )
    context = {
        "location": location,
        "form": form,
        "day": day,
        "page": page,
        "units": units,
        "rows": rows,
        "can_manage": can_manage,
    }
    return render(request, "dashboard/units/list.html", context, status=200 if valid else 400)


@staff_required
def unit_create(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_operator(request.user, location_id)
    form = UnitForm(request.POST or None, location=location)
    if request.method == "POST" and form.is_valid():
        try:
            unit = facilities.unit_create(
                actor=Actor.staff(request.user), location=location, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Unit {unit.number} added.")
            return redirect("dashboard:unit_edit", unit_id=unit.pk)
    return render(
        request,
        "dashboard/units/unit_new.html",
        {"location": location, "form": form},
        status=_status(request),
    )


def _status(request: StaffRequest) -> int:
    return 400 if request.method == "POST" else 200


def _unit_page(request: StaffRequest, unit: Unit, **forms: object) -> HttpResponse:
    """The unit's page: its details, service status, access points and Retire; a refused form in `forms`."""
    access_points = unit.location.access_points.filter(ACCESS_POINT_IN_SERVICE).order_by("name")
    context = {
        "location": unit.location,
        "unit": unit,
        "form": UnitForm(location=unit.location, unit=unit),
        "service_form": OutOfServiceForm(),
        "access_form": UnitAccessPointsForm(
            access_points=access_points, initial={"access_points": list(unit.access_points.all())}
        ),
        "retire_error": "",
        **forms,
    }
    return render(request, "dashboard/units/unit_edit.html", context, status=400 if forms else 200)


@staff_required
def unit_edit(request: StaffRequest, unit_id: int) -> HttpResponse:
    unit = get_unit_for_operator(request.user, unit_id)
    if request.method != "POST":
        return _unit_page(request, unit)
    form = UnitForm(request.POST, location=unit.location, unit=unit)
    if form.is_valid():
        try:
            facilities.unit_update(actor=Actor.staff(request.user), unit=unit, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Unit saved.")
            return redirect("dashboard:unit_edit", unit_id=unit.pk)
    return _unit_page(request, unit, form=form)


@require_POST
@staff_required
def unit_service(request: StaffRequest, unit_id: int) -> HttpResponse:
    """Out of service with a reason, or back in service."""
    unit = get_unit_for_operator(request.user, unit_id)
    actor = Actor.staff(request.user)
    if request.POST.get("in_service") == "1":
        facilities.unit_set_in_service(actor=actor, unit=unit)
        messages.success(request, f"Unit {unit.number} is back in service.")
        return redirect("dashboard:unit_edit", unit_id=unit.pk)
    form = OutOfServiceForm(request.POST)
    if form.is_valid():
        try:
            facilities.unit_set_out_of_service(actor=actor, unit=unit, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            apply_errors(form, error, rename={"out_of_service_reason": "reason"})
        else:
            messages.success(request, f"Unit {unit.number} is out of service.")
            return redirect("dashboard:unit_edit", unit_id=unit.pk)
    return _unit_page(request, unit, service_form=form)


@require_POST
@staff_required
def unit_access_points(request: StaffRequest, unit_id: int) -> HttpResponse:
    unit = get_unit_for_operator(request.user, unit_id)
    form = UnitAccessPointsForm(
        request.POST,
        access_points=unit.location.access_points.filter(ACCESS_POINT_IN_SERVICE).order_by("name"),
    )
    if form.is_valid():
        try:
            facilities.unit_map_access_points(
                actor=Actor.staff(request.user), unit=unit, access_points=form.cleaned_data["access_points"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Access points of unit {unit.number} saved.")
            return redirect("dashboard:unit_edit", unit_id=unit.pk)
    return _unit_page(request, unit, access_form=form)


@require_POST
@staff_required
def unit_retire(request: StaffRequest, unit_id: int) -> HttpResponse:
    unit = get_unit_for_operator(request.user, unit_id)
    try:
        facilities.unit_retire(actor=Actor.staff(request.user), unit=unit)
    except ValidationError as error:
        return _unit_page(request, unit, retire_error=" ".join(error.messages))
    messages.success(request, f"Unit {unit.number} retired.")
    return redirect("dashboard:location_units", location_id=unit.location_id)


@staff_required
def units_import(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_operator(request.user, location_id)
    form = UnitsImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        # One byte past the limit is enough for the import to refuse a file too large.
        data = form.cleaned_data["file"].read(CSV_MAX_BYTES + 1)
        try:
            count = csv_imports.units_import(
                actor=Actor.staff(request.user), location=location, data=data, kind=form.cleaned_data["kind"]
            )
        except ValidationError as error:
            form.add_error("file", error.message_dict["file"])
        else:
            messages.success(request, f"{count} unit{'s' if count != 1 else ''} added.")
            return redirect("dashboard:location_units", location_id=location.pk)
    context = {"location": location, "form": form}
    return render(request, "dashboard/units/import.html", context, status=_status(request))


def _unit_types_page(
    request: StaffRequest, location: Location, form: UnitTypeForm | None = None
) -> HttpResponse:
    context = {
        "location": location,
        "unit_types": unit_types_of(location),
        "currency": currency_of(location),
        "form": form or UnitTypeForm(),
        "can_manage": request.user.can_operate_location(location),
    }
    return render(request, "dashboard/units/unit_types.html", context, status=400 if form else 200)


@staff_required
def location_unit_types(request: StaffRequest, location_id: int) -> HttpResponse:
    """The location's unit types; owners and managers add one here."""
    if request.method != "POST":
        return _unit_types_page(request, get_location_for_staff(request.user, location_id))
    location = get_location_for_operator(request.user, location_id)
    form = UnitTypeForm(request.POST)
    if form.is_valid():
        try:
            facilities.unit_type_create(
                actor=Actor.staff(request.user), location=location, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Unit type {form.cleaned_data['name']} added.")
            return redirect("dashboard:location_unit_types", location_id=location.pk)
    return _unit_types_page(request, location, form)


@staff_required
def unit_type_edit(request: StaffRequest, unit_type_id: int) -> HttpResponse:
    unit_type = get_unit_type_for_operator(request.user, unit_type_id)
    form = UnitTypeForm(request.POST or None, initial=unit_type_initial(unit_type))
    if request.method == "POST" and form.is_valid():
        try:
            facilities.unit_type_update(
                actor=Actor.staff(request.user), unit_type=unit_type, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Unit type {unit_type.name} saved.")
            return redirect("dashboard:location_unit_types", location_id=unit_type.location_id)
    context = {
        "unit_type": unit_type,
        "location": unit_type.location,
        "form": form,
        "delete_error": "",
    }
    return render(request, "dashboard/units/unit_type_edit.html", context, status=_status(request))


@require_POST
@staff_required
def unit_type_retire(request: StaffRequest, unit_type_id: int) -> HttpResponse:
    unit_type = get_unit_type_for_operator(request.user, unit_type_id)
    facilities.unit_type_retire(actor=Actor.staff(request.user), unit_type=unit_type, now=timezone.now())
    messages.success(request, f"Unit type {unit_type.name} retired: new units no longer get it.")
    return redirect("dashboard:location_unit_types", location_id=unit_type.location_id)


@require_POST
@staff_required
def unit_type_delete(request: StaffRequest, unit_type_id: int) -> HttpResponse:
    unit_type = get_unit_type_for_operator(request.user, unit_type_id)
    try:
        facilities.unit_type_delete(actor=Actor.staff(request.user), unit_type=unit_type)
    except ValidationError as error:
        context = {
            "unit_type": unit_type,
            "location": unit_type.location,
            "form": UnitTypeForm(initial=unit_type_initial(unit_type)),
            "delete_error": " ".join(error.messages),
        }
        return render(request, "dashboard/units/unit_type_edit.html", context, status=400)
    messages.success(request, f"Unit type {unit_type.name} deleted.")
    return redirect("dashboard:location_unit_types", location_id=unit_type.location_id)

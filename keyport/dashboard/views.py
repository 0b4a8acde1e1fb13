from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from keyport.access.location_settings import access_provider_test_connection, location_settings_save
from keyport.access.providers import ConnectionCheck
from keyport.access.queries import grants_failed_to_sync, provider_state, sync_changes_on_the_way
from keyport.audit.services import Actor
from keyport.dashboard.activity import recent_activity_for_staff
from keyport.dashboard.forms import (
    AccessMappingUploadForm,
    AccessProviderForm,
    LocationSettingsForm,
    OpeningHoursFormSet,
    apply_errors,
    opening_hours_from,
    opening_hours_initial,
)
from keyport.dashboard.keypad_views import pin_blocks_context
from keyport.dashboard.overview import overview_of
from keyport.dashboard.payment_views import payment_context
from keyport.dashboard.setup_warning import setup_warning_due, setup_warning_shown
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities.csv_imports import unit_mappings_import
from keyport.facilities.mapping_import import MAX_BYTES as MAPPING_MAX_BYTES
from keyport.facilities.models import Location
from keyport.lib.times import list_zone
from keyport.staff.queries import (
    get_location_for_operator,
    get_location_for_owner,
    get_location_for_staff,
)


@staff_required
def home(request: StaffRequest) -> HttpResponse:
    activity = recent_activity_for_staff(request.user, limit=15)
    rows = overview_of(request.user, timezone.now())
    warn = bool(rows) and setup_warning_due(request, page="overview")
    response = render(
        request,
        "dashboard/home.html",
        {
            "rows": rows,
            "audit_entries": activity,
            "times_zone": list_zone(item.entry for item in activity),
            "setup_warning": warn,
            "no_location": request.user.has_no_location(),
            **pin_blocks_context(request.user),
        },
    )
    if warn:
        setup_warning_shown(request, response, page="overview")
    return response


@staff_required
def location_detail(
    request: StaffRequest, location_id: int, mapping_form: AccessMappingUploadForm | None = None
) -> HttpResponse:
    location = get_location_for_staff(request.user, location_id)
    warn = setup_warning_due(request, page="location")
    response = render(
        request,
        "dashboard/location_detail.html",
        {
            "location": location,
            "today": location.local_now().date(),
            "can_operate": request.user.can_operate_location(location),
            "can_configure": request.user.is_owner,
            "mapping_form": mapping_form or AccessMappingUploadForm(),
            "setup_warning": warn,
            "sync_waiting": sync_changes_on_the_way(location),
            "sync_failed": grants_failed_to_sync(location)[:50],
            **pin_blocks_context(request.user, location=location),
        },
        status=400 if mapping_form is not None else 200,
    )
    if warn:
        setup_warning_shown(request, response, page="location")
    return response


@require_POST
@staff_required
def location_mapping_upload(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_operator(request.user, location_id)
    form = AccessMappingUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            # One byte past the limit is enough for the import to refuse a file too large,
            # without holding all of it in memory.
            data = form.cleaned_data["file"].read(MAPPING_MAX_BYTES + 1)
            count = unit_mappings_import(actor=Actor.staff(request.user), location=location, data=data)
        except ValidationError as error:
            form.add_error("file", error.message_dict["file"])
        else:
            messages.success(
                request,
                ngettext(
                    "Access points mapped for %(count)d unit.",
                    "Access points mapped for %(count)d units.",
                    count,
                )
                % {"count": count},
            )
            return redirect("dashboard:location_detail", location_id=location.pk)
    return location_detail(request, location_id, mapping_form=form)


@staff_required
def location_settings(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_owner(request.user, location_id)
    form = LocationSettingsForm(request.POST or None, instance=location)
    hours = OpeningHoursFormSet(request.POST or None, initial=opening_hours_initial(location), prefix="hours")
    provider = _access_provider_form(request, location)
    if request.method == "POST" and all([form.is_valid(), hours.is_valid(), provider.is_valid()]):
        try:
            location_settings_save(
                actor=Actor.staff(request.user),
                location=location,
                details={name: form.cleaned_data[name] for name in form.fields},
                opening_hours=opening_hours_from(hours),
                provider=provider.cleaned_data["access_provider"],
                sensorberg=provider.credentials(),
            )
        except ValidationError as error:
            apply_errors(provider, error)
        else:
            messages.success(request, "Location settings saved.")
            return redirect("dashboard:location_settings", location_id=location.pk)
    status = 400 if request.method == "POST" else 200
    context = {"location": location, "form": form, "hours": hours, "provider": provider}
    context["provider_state"] = provider_state(location)
    context.update(payment_context(location))
    return render(request, "dashboard/location_settings.html", context, status=status)


@require_POST
@staff_required
def location_test_connection(request: StaffRequest, location_id: int) -> HttpResponse:
    """Test connection: try the access provider settings in the form; nothing is saved.

    The whole page answers; htmx swaps in only its result (hx-select), a plain post shows it all.
    """
    location = get_location_for_owner(request.user, location_id)
    provider = _access_provider_form(request, location)
    check = None
    if provider.is_valid():
        try:
            check = access_provider_test_connection(
                location=location,
                provider=provider.cleaned_data["access_provider"],
                sensorberg=provider.credentials(),
            )
        except ValidationError as error:
            apply_errors(provider, error)
    if check is None:
        problems = " ".join(str(message) for errors in provider.errors.values() for message in errors)
        check = ConnectionCheck(ok=False, message=f"Not tested. {problems}")
    form = LocationSettingsForm(request.POST, instance=location)
    hours = OpeningHoursFormSet(request.POST, initial=opening_hours_initial(location), prefix="hours")
    context = {"location": location, "form": form, "hours": hours, "provider": provider, "check": check}
    context["provider_state"] = provider_state(location)
    context.update(payment_context(location))
    return render(request, "dashboard/location_settings.html", context)


def _access_provider_form(request: StaffRequest, location: Location) -> AccessProviderForm:
    account = getattr(location, "sensorberg_account", None)
    initial = {
        "access_provider": location.access_provider,
        "sensorberg_base_url": account.base_url if account else "",
        "sensorberg_client_id": account.client_id if account else "",
    }
    return AccessProviderForm(
        request.POST or None, initial=initial, secret_is_set=bool(account and account.client_secret)
    )

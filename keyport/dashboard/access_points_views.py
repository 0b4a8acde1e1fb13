"""A location's Access points page: add, rename and retire access points, the units each serves, and
their devices' keys (issue or replace, shown once; withdraw) with each device's last check.

Owners and managers of the location change them; employees see the pages read-only."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keyport.access.access_point_queries import (
    DEVICE_CHECK_WORDS,
    DEVICE_MISCONFIGURED,
    access_points_at,
    get_access_point_at,
    units_for_access_point,
)
from keyport.access.models import DeviceKey
from keyport.access.services import access_point_retire, device_key_issue, device_key_revoke
from keyport.audit.services import Actor
from keyport.dashboard.access_points_forms import AccessPointForm, AccessPointRenameForm, AccessPointUnitsForm
from keyport.dashboard.forms import apply_errors
from keyport.dashboard.staff_auth import StaffRequest, staff_required
from keyport.facilities import services as facilities
from keyport.facilities.models import AccessPoint, Location
from keyport.staff.queries import get_location_for_operator, get_location_for_staff


@dataclass(frozen=True)
class DeviceState:
    """An access point's device key as the page shows it: never the key itself."""

    key: DeviceKey | None

    @classmethod
    def of(cls, point: AccessPoint) -> "DeviceState":
        return cls(getattr(point, "device_key", None))

    @property
    def last_check_words(self) -> str:
        if self.key is None or self.key.last_check_at is None:
            return ""
        result = self.key.last_check_result
        return str(DEVICE_CHECK_WORDS.get(result, result))

    @property
    def misconfigured(self) -> bool:
        return self.key is not None and self.key.last_check_result in DEVICE_MISCONFIGURED


def _list_page(
    request: StaffRequest, location: Location, form: AccessPointForm | None = None
) -> HttpResponse:
    points = [(point, DeviceState.of(point)) for point in access_points_at(location)]
    context = {
        "location": location,
        "points": points,
        "can_manage": request.user.can_operate_location(location),
        "form": form or AccessPointForm(),
    }
    return render(request, "dashboard/access_points/list.html", context, status=400 if form else 200)


@staff_required
def location_access_points(request: StaffRequest, location_id: int) -> HttpResponse:
    """The list; a POST adds an access point."""
    if request.method != "POST":
        return _list_page(request, get_location_for_staff(request.user, location_id))
    location = get_location_for_operator(request.user, location_id)
    form = AccessPointForm(request.POST)
    if form.is_valid():
        try:
            point = facilities.access_point_create(
                actor=Actor.staff(request.user), location=location, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request,
                _("%(name)s added. Issue its device key when its keypad is ready.") % {"name": point.name},
            )
            return redirect(
                "dashboard:access_point_detail", location_id=location.pk, access_point_id=point.pk
            )
    return _list_page(request, location, form)


def _detail_page(
    request: StaffRequest, point: AccessPoint, *, status: int = 200, **forms: object
) -> HttpResponse:
    units = units_for_access_point(point)
    context = {
        "location": point.location,
        "point": point,
        "device": DeviceState.of(point),
        "served": list(point.units.order_by("number")),
        "can_manage": request.user.can_operate_location(point.location) and point.retired_at is None,
        "rename_form": AccessPointRenameForm(initial={"name": point.name}),
        "units_form": AccessPointUnitsForm(units=units, initial={"units": list(point.units.all())}),
        **forms,
    }
    return render(request, "dashboard/access_points/detail.html", context, status=status)


@staff_required
def access_point_detail(request: StaffRequest, location_id: int, access_point_id: int) -> HttpResponse:
    """One access point; a POST renames it."""
    if request.method != "POST":
        location = get_location_for_staff(request.user, location_id)
        return _detail_page(request, get_access_point_at(location, access_point_id))
    point = get_access_point_at(get_location_for_operator(request.user, location_id), access_point_id)
    form = AccessPointRenameForm(request.POST)
    if form.is_valid():
        try:
            facilities.access_point_rename(
                actor=Actor.staff(request.user), access_point=point, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Access point renamed."))
            return redirect(
                "dashboard:access_point_detail", location_id=location_id, access_point_id=point.pk
            )
    return _detail_page(request, point, status=400, rename_form=form)


@require_POST
@staff_required
def access_point_units(request: StaffRequest, location_id: int, access_point_id: int) -> HttpResponse:
    point = get_access_point_at(get_location_for_operator(request.user, location_id), access_point_id)
    form = AccessPointUnitsForm(request.POST, units=units_for_access_point(point))
    if form.is_valid():
        try:
            facilities.access_point_map_units(
                actor=Actor.staff(request.user), access_point=point, units=form.cleaned_data["units"]
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Units served by %(name)s saved.") % {"name": point.name})
            return redirect(
                "dashboard:access_point_detail", location_id=location_id, access_point_id=point.pk
            )
    return _detail_page(request, point, status=400, units_form=form)


def _confirm_page(
    request: StaffRequest, point: AccessPoint, *, question: str, consequences: list[str], confirm_words: str
) -> HttpResponse:
    """Retire and Withdraw shut a door: first say what follows, and ask (a page, no script needed)."""
    context = {
        "location": point.location,
        "point": point,
        "question": question,
        "consequences": consequences,
        "confirm_words": confirm_words,
        "action": request.path,
    }
    return render(request, "dashboard/access_points/confirm.html", context)


@require_POST
@staff_required
def access_point_retire_view(request: StaffRequest, location_id: int, access_point_id: int) -> HttpResponse:
    point = get_access_point_at(get_location_for_operator(request.user, location_id), access_point_id)
    if request.POST.get("confirm") != "1":
        served = point.units.count()
        return _confirm_page(
            request,
            point,
            question=_("Retire %(name)s?") % {"name": point.name},
            consequences=[
                ngettext(
                    "It stops serving its %(count)d unit: nobody opens it any more.",
                    "It stops serving its %(count)d units: nobody opens it any more.",
                    served,
                )
                % {"count": served},
                _("Its device key is withdrawn: the keypad's checks are refused."),
                _("It is never offered again; its identifier stays its own, and its events stay."),
            ],
            confirm_words=_("Retire %(name)s") % {"name": point.name},
        )
    access_point_retire(actor=Actor.staff(request.user), access_point=point)
    messages.success(
        request,
        _("%(name)s retired: it opens nothing now, and its device key no longer works.")
        % {"name": point.name},
    )
    return redirect("dashboard:location_access_points", location_id=location_id)


@never_cache
@require_POST
@staff_required
def access_point_device_key(request: StaffRequest, location_id: int, access_point_id: int) -> HttpResponse:
    """Issue or replace the device key: this answer is the only time the key is shown."""
    point = get_access_point_at(get_location_for_operator(request.user, location_id), access_point_id)
    replaced = DeviceState.of(point).key is not None
    try:
        key = device_key_issue(actor=Actor.staff(request.user), access_point=point)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("dashboard:access_point_detail", location_id=location_id, access_point_id=point.pk)
    context = {"location": point.location, "point": point, "key": key, "replaced": replaced}
    return render(request, "dashboard/access_points/device_key.html", context)


@require_POST
@staff_required
def access_point_device_key_withdraw(
    request: StaffRequest, location_id: int, access_point_id: int
) -> HttpResponse:
    """Withdraw the device key (a lost or stolen keypad): its checks are refused from now on."""
    point = get_access_point_at(get_location_for_operator(request.user, location_id), access_point_id)
    if request.POST.get("confirm") != "1" and DeviceState.of(point).key is not None:
        return _confirm_page(
            request,
            point,
            question=_("Withdraw the device key of %(name)s?") % {"name": point.name},
            consequences=[
                _("The keypad's checks are refused from now on: no PIN opens it there."),
                _("The portal's Open button still opens it for those who may."),
                _("Issue a new key when the keypad is replaced."),
            ],
            confirm_words=_("Withdraw the key"),
        )
    if device_key_revoke(actor=Actor.staff(request.user), access_point=point):
        messages.success(
            request,
            _("Device key of %(name)s withdrawn: its checks are refused from now on.") % {"name": point.name},
        )
    else:
        messages.info(request, _("%(name)s had no device key.") % {"name": point.name})
    return redirect("dashboard:access_point_detail", location_id=location_id, access_point_id=point.pk)

"""Settings > Website & customer app: which portal sections each location's customers see, and
how the site looks there and in emails (name, logo, colour)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from keyport.audit.services import Actor
from keyport.contacts.models import CustomerAppSettings
from keyport.contacts.queries import PORTAL_SECTIONS, portal_login_path, sections_of_location
from keyport.contacts.services import CUSTOMER_APP_SECTIONS, customer_app_settings_update
from keyport.dashboard.contact_forms import CustomerAppForm
from keyport.dashboard.forms import BrandingForm, apply_errors
from keyport.dashboard.staff_auth import StaffRequest, owner_required, staff_required
from keyport.facilities.branding import location_set_branding
from keyport.facilities.models import Location
from keyport.staff.queries import get_location_for_owner, staff_locations


@owner_required
def customer_app(request: StaffRequest) -> HttpResponse:
    locations = [place.location for place in staff_locations(request.user)]
    rows = {row.location_id: row for row in CustomerAppSettings.objects.filter(location__in=locations)}
    overview = [(location, sections_of_location(rows.get(location.pk))) for location in locations]
    return render(request, "dashboard/customer_app/overview.html", {"overview": overview})


@staff_required
def location_customer_app(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_owner(request.user, location_id)
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
    return _location_page(request, location, form=form, branding_form=_branding_form(location))


@require_POST
@staff_required
def location_branding(request: StaffRequest, location_id: int) -> HttpResponse:
    location = get_location_for_owner(request.user, location_id)
    form = _branding_form(location, data=request)
    if form.is_valid():
        try:
            location_set_branding(actor=Actor.staff(request.user), location=location, changes=form.changes())
        except ValidationError as error:
            apply_errors(form, error, rename=_BRANDING_FIELDS)
        else:
            messages.success(request, "Branding saved. The portal and new emails show it.")
            return redirect("dashboard:location_customer_app", location_id=location.pk)
    sections = sections_of_location(CustomerAppSettings.objects.filter(location=location).first())
    sections_form = CustomerAppForm(
        initial={f"show_{name}": sections.shows(name) for name in PORTAL_SECTIONS}
    )
    return _location_page(request, location, form=sections_form, branding_form=form, status=400)


# The service names model fields; the form shows each message beside its own field.
_BRANDING_FIELDS = {"brand_name": "site_name", "brand_colour": "colour", "brand_logo": "logo"}


def _branding_form(location: Location, data: HttpRequest | None = None) -> BrandingForm:
    initial = {"site_name": location.brand_name, "colour": location.brand_colour}
    return BrandingForm(
        data.POST if data else None,
        data.FILES if data else None,
        initial=initial,
        default_name=settings.KEYPORT_SITE_NAME,
    )


def _location_page(
    request: StaffRequest,
    location: Location,
    *,
    form: CustomerAppForm,
    branding_form: BrandingForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "location": location,
        "form": form,
        "branding_form": branding_form,
        "branding": location.branding(),
        "login_url": settings.PUBLIC_BASE_URL + portal_login_path(location),
    }
    return render(request, "dashboard/customer_app/location.html", context, status=status)

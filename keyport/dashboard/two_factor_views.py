"""Two-factor sign-in, each staff member's own: set it up with a QR code, recovery codes, turn off."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from keyport.audit.services import Actor
from keyport.dashboard.staff_auth import StaffRequest, staff_signed_in
from keyport.dashboard.staff_forms import TwoFactorCodeForm
from keyport.dashboard.staff_sign_in import two_factor_setup_done
from keyport.staff.authentication import needs_two_factor_setup
from keyport.staff.queries import (
    recovery_codes_left,
    staff_has_two_factor,
    two_factor_qr_svg,
    two_factor_required,
    two_factor_secret_text,
)
from keyport.staff.two_factor import (
    two_factor_disable,
    two_factor_enable,
    two_factor_recovery_codes_renew,
    two_factor_setup_start,
)


@staff_signed_in
def two_factor(request: StaffRequest) -> HttpResponse:
    member = request.user
    if staff_has_two_factor(member):
        on = {"codes_left": recovery_codes_left(member), "required": two_factor_required()}
        return render(request, "dashboard/two_factor/on.html", on)
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor_enable(member=member, code=form.cleaned_data["code"])
        if codes is not None:
            update_session_auth_hash(request, member)  # this session goes on; every other one ended
            otp_login(request, TOTPDevice.objects.get(user=member, confirmed=True))
            two_factor_setup_done(request)
            return _codes_page(request, codes, first=True)
        form.add_error("code", "That code is not right. Type the code your app shows now.")
    device = two_factor_setup_start(member=member)
    context = {
        "form": form,
        "qr_svg": two_factor_qr_svg(device),
        "secret": two_factor_secret_text(device),
        "setup_needed": needs_two_factor_setup(request),
    }
    response = render(request, "dashboard/two_factor/setup.html", context, status=400 if form.errors else 200)
    add_never_cache_headers(response)  # the secret is on the page
    return response


@require_POST
@staff_signed_in
def two_factor_recovery_codes(request: StaffRequest) -> HttpResponse:
    if not staff_has_two_factor(request.user):
        return redirect("dashboard:two_factor")
    return _codes_page(request, two_factor_recovery_codes_renew(member=request.user), first=False)


@require_POST
@staff_signed_in
def two_factor_disable_view(request: StaffRequest) -> HttpResponse:
    member = request.user
    try:
        two_factor_disable(actor=Actor.staff(member), member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        update_session_auth_hash(request, member)
        messages.success(request, "Two-factor sign-in is off. You sign in with your password alone.")
    return redirect("dashboard:two_factor")


def _codes_page(request: StaffRequest, codes: list[str], *, first: bool) -> HttpResponse:
    response = render(request, "dashboard/two_factor/codes.html", {"codes": codes, "first": first})
    add_never_cache_headers(response)
    return response

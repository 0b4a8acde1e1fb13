"""Staff sign-in: the password, then the code of a staff member who uses two-factor sign-in.

A password that is right for someone with two-factor sign-in signs nobody in: the session only
remembers, for a few minutes, who typed it (and the password they typed it for), and the code page
finishes the sign-in. Whoever signs in without two-factor sign-in while the team requires it is
flagged in their session and led to set it up before any other dashboard page (staff_auth).
"""

import time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.models import Device

from keyport.dashboard.forms import StaffSignInForm
from keyport.dashboard.staff_forms import TwoFactorCodeForm
from keyport.staff.authentication import TWO_FACTOR_SETUP_NEEDED
from keyport.staff.models import StaffUser
from keyport.staff.queries import staff_has_two_factor, two_factor_required
from keyport.staff.two_factor import two_factor_verify

PENDING = "staff_two_factor_pending"
PENDING_SECONDS = 5 * 60


def staff_sign_in(request: HttpRequest, member: StaffUser, device: Device | None = None) -> None:
    """Sign a staff member in to this browser: with the device that gave the code, if one did."""
    login(request, member, backend=settings.AUTHENTICATION_BACKENDS[0])
    if device is not None:
        otp_login(request, device)
    request.session[TWO_FACTOR_SETUP_NEEDED] = (
        device is None and two_factor_required() and not staff_has_two_factor(member)
    )


def two_factor_setup_done(request: HttpRequest) -> None:
    request.session.pop(TWO_FACTOR_SETUP_NEEDED, None)


class StaffLoginView(auth_views.LoginView):
    template_name = "dashboard/login.html"
    authentication_form = StaffSignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        member = form.get_user()
        if staff_has_two_factor(member):
            self.request.session[PENDING] = {
                "member": member.pk,
                "hash": member.get_session_auth_hash(),
                "at": int(time.time()),
                "next": self.get_success_url(),
            }
            return redirect("dashboard:login_code")
        staff_sign_in(self.request, member)
        return HttpResponseRedirect(self.get_success_url())


def _pending_member(request: HttpRequest) -> tuple[StaffUser, str] | None:
    """Who typed their password here a moment ago, if they still may finish signing in."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        return None
    member = StaffUser.objects.filter(pk=int(pending.get("member", 0)), is_active=True).first()
    if member is None or not constant_time_compare(member.get_session_auth_hash(), pending.get("hash", "")):
        return None
    return member, str(pending.get("next") or settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "HEAD", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    pending = _pending_member(request)
    if pending is None:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in with your email and password first.")
        return redirect("dashboard:login")
    member, next_url = pending
    form = TwoFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor_verify(member=member, code=form.cleaned_data["code"])
        if device is not None:
            del request.session[PENDING]
            staff_sign_in(request, member, device)
            return redirect(next_url)
        form.add_error(
            "code", "That code is not right. Type the newest code from your app, or a recovery code."
        )
    status = 400 if form.errors else 200
    return render(request, "dashboard/login_code.html", {"form": form}, status=status)

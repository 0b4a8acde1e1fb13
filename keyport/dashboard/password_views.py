"""Forgot password? on the dashboard's sign-in page: ask for a link, then set a new password.

The link carries Django's password-reset token, which works until the password changes (so once)
and for PASSWORD_RESET_TIMEOUT; opening it only shows the form. Django's view checks the token and
moves it out of the address into the session before the form shows.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from keyport.dashboard.staff_forms import PasswordResetRequestForm
from keyport.lib.bootstrap_forms import style_fields
from keyport.lib.client_address import client_address
from keyport.staff.models import StaffUser
from keyport.staff.services import staff_password_reset_request, staff_password_set

SENT_MESSAGE = "If this email belongs to a staff account, we sent it a link to set a new password."


@require_http_methods(["GET", "HEAD", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = staff_password_reset_request(email=form.cleaned_data["email"], address=client_address(request))
        if wait is not None:
            context = {"form": form, "retry_minutes": wait.retry_after_minutes}
            response = render(request, "dashboard/password_reset.html", context, status=429)
            response["Retry-After"] = str(wait.retry_after)
            return response
        messages.success(request, SENT_MESSAGE)
        return redirect("dashboard:login")
    status = 400 if form.errors else 200
    return render(request, "dashboard/password_reset.html", {"form": form}, status=status)


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Django's view, with the new password set through the staff service (audited) and no
    sign-in: the person signs in with it, and with their second factor if they have one."""

    template_name = "dashboard/password_reset_confirm.html"
    form_class = SetPasswordForm
    post_reset_login = False
    success_url = reverse_lazy("dashboard:login")

    def get_user(self, uidb64: str) -> Any:
        user = super().get_user(uidb64)
        return user if isinstance(user, StaffUser) and user.is_active else None

    def get_form(self, form_class: Any = None) -> Any:
        form = super().get_form(form_class)
        style_fields(form)
        return form

    def form_valid(self, form: Any) -> HttpResponse:
        staff_password_set(member=self.user, password=form.cleaned_data["new_password1"])
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Your new password is set. Sign in with it.")
        return redirect(self.success_url)

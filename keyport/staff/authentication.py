"""Staff password sign-in, throttled in the one place every password check passes through.

The dashboard's login form, the Django admin's and any later one all end in
django.contrib.auth.authenticate(), which asks this backend. So a form cannot forget the throttle:
a refused attempt is refused here, before its password is checked, for known and unknown accounts
alike. A form that knows ThrottledAuthenticationForm also tells the person how long to wait;
any other form still refuses, with its usual "wrong password" message.
"""

from typing import Any
from weakref import WeakKeyDictionary

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import ngettext

from keyport.lib.client_address import client_address
from keyport.lib.email_addresses import normalize_email_address
from keyport.lib.rate_limits import RateLimitAnswer
from keyport.staff.models import StaffUser
from keyport.staff.services import staff_sign_in_attempt_finish, staff_sign_in_attempt_start

# The throttle's answer to a request, for the form that made it to word its error. Weak keys: the
# entry goes with the request.
_refusals: "WeakKeyDictionary[HttpRequest, RateLimitAnswer]" = WeakKeyDictionary()


def sign_in_refusal(request: HttpRequest | None) -> RateLimitAnswer | None:
    """How long to wait, when this request's sign-in was refused by the throttle."""
    return None if request is None else _refusals.get(request)


# Set in the session of a staff member who signed in without two-factor sign-in while the team
# requires it: the dashboard sends them to set it up first, and the Django admin lets them in only
# once they have.
TWO_FACTOR_SETUP_NEEDED = "staff_two_factor_setup_needed"


def needs_two_factor_setup(request: HttpRequest) -> bool:
    return bool(request.session.get(TWO_FACTOR_SETUP_NEEDED))


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> StaffUser | None:
        if username is None:
            username = kwargs.get(StaffUser.USERNAME_FIELD)
        if username is None or password is None:
            return None
        account = normalize_email_address(username)
        attempt = staff_sign_in_attempt_start(
            account=account, address=None if request is None else client_address(request)
        )
        refusal = attempt.refusal
        if refusal is not None:
            if request is not None:
                _refusals[request] = refusal
            # Ends authenticate() at once: no other backend may check the password instead.
            raise PermissionDenied
        user = super().authenticate(request, username=account, password=password)
        staff_sign_in_attempt_finish(attempt=attempt, user=user)
        return user

    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> StaffUser | None:
        # ModelBackend's own async path would skip the throttle.
        return await sync_to_async(self.authenticate)(request, username, password, **kwargs)


class ThrottledAuthenticationForm(AuthenticationForm):
    """A login form that says "try again in N minutes" when the throttle refused the attempt."""

    def get_invalid_login_error(self) -> ValidationError:
        refusal = sign_in_refusal(self.request)
        if refusal is None:
            return super().get_invalid_login_error()
        minutes = refusal.retry_after_minutes
        return ValidationError(
            ngettext(
                "Too many sign-in attempts. Try again in %(minutes)d minute.",
                "Too many sign-in attempts. Try again in %(minutes)d minutes.",
                minutes,
            ),
            code="throttled",
            params={"minutes": minutes},
        )

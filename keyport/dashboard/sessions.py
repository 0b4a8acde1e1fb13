"""How long a staff sign-in lasts: it ends after KEYPORT_STAFF_IDLE_HOURS without a request.

The time of the last request is kept in the session. It is written at sign-in and then at most once
every REFRESH_SECONDS, not on every request (that would be a database write per page), so a
sign-in ends between REFRESH_SECONDS before the idle limit and the limit itself. The check runs
before the staff member is loaded, on every session that holds a staff sign-in (the dashboard and
the Django admin alike), whatever the session backend.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, user_logged_in
from django.contrib.auth.models import AnonymousUser
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import ngettext

STAFF_SEEN_AT = "staff_seen_at"
REFRESH_SECONDS = 5 * 60


def _now() -> int:
    return int(timezone.now().timestamp())


@receiver(user_logged_in, dispatch_uid="keyport.dashboard.sessions.staff_signed_in")
def staff_signed_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None:
        request.session[STAFF_SEEN_AT] = _now()


def staff_session_end(request: HttpRequest) -> None:
    """Sign the staff member out of this browser; a portal sign-in in the same browser stays."""
    for key in (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY, STAFF_SEEN_AT):
        request.session.pop(key, None)
    request.session.cycle_key()
    request.user = AnonymousUser()

    async def anonymous() -> AnonymousUser:
        return AnonymousUser()

    request.auser = anonymous


class StaffIdleTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # A request with no session cookie (the door API) leaves the session untouched.
        if settings.SESSION_COOKIE_NAME in request.COOKIES and SESSION_KEY in request.session:
            self._check(request)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        now = _now()
        seen_at = request.session.get(STAFF_SEEN_AT)
        if not isinstance(seen_at, int):
            # Signed in before sign-ins were timed: timed from now on.
            request.session[STAFF_SEEN_AT] = now
        elif now - seen_at > settings.KEYPORT_STAFF_IDLE_HOURS * 60 * 60:
            staff_session_end(request)
            hours = settings.KEYPORT_STAFF_IDLE_HOURS
            messages.info(
                request,
                ngettext(
                    "You were signed out after %(hours)d hour without activity. Sign in again.",
                    "You were signed out after %(hours)d hours without activity. Sign in again.",
                    hours,
                )
                % {"hours": hours},
            )
        elif now - seen_at >= REFRESH_SECONDS:
            request.session[STAFF_SEEN_AT] = now

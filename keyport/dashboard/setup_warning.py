"""The "Set up the Shared Access email" banner: until an owner reviews the email, the Overview and
the location page each show it once a sign-in session (on every page it was read as noise).

What was shown is kept in a browser cookie tied to the session's key, not in the session itself:
saving the session would cost these pages three queries more on every first visit. A new sign-in
has a new session key, so it warns again.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare, salted_hmac

from keyport.access.emails import shared_access_email_reviewed

COOKIE = "keyport_setup_warning_shown"


def _session_tag(request: HttpRequest) -> str:
    key = request.session.session_key or ""
    return salted_hmac("keyport.dashboard.setup_warning", key).hexdigest()[:16]


def _shown_on(request: HttpRequest) -> set[str]:
    tag, _, pages = request.COOKIES.get(COOKIE, "").partition(":")
    if not pages or not constant_time_compare(tag, _session_tag(request)):
        return set()
    return set(pages.split(","))


def setup_warning_due(request: HttpRequest, *, page: str) -> bool:
    """Whether this page shows the banner: the email is not reviewed, and the page has not shown it
    in this session yet."""
    return not shared_access_email_reviewed() and page not in _shown_on(request)


def setup_warning_shown(request: HttpRequest, response: HttpResponse, *, page: str) -> None:
    """Remember for the rest of the session that this page showed the banner."""
    pages = ",".join(sorted(_shown_on(request) | {page}))
    response.set_cookie(
        COOKIE,
        f"{_session_tag(request)}:{pages}",
        path="/dashboard/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )

"""The facility's public login page and the magic links it sends.

A link's token sits in its URL path (/login/link/<token>/). Opening it (GET or HEAD) only shows
a Continue page, always with status 200, so mail scanners use nothing up and Django never
logs the path as an error; Continue posts the token in the body to /login/continue/. These
pages send Referrer-Policy: no-referrer, and keyport.lib.log_redaction removes tokens
from log lines (the development server logs every path).

With no-referrer, browsers send `Origin: null` and no Referer on the pages' form posts, which
Django's CSRF check refuses (on HTTPS it insists on a Referer). So:
- asking for a link (/login/) is exempt: a forged request can only do what anyone can do by
  typing an address into the page, and it is rate-limited (see _wait_before_next_link);
- Continue is protected by its own double-submit nonce: the link page sets it in a
  SameSite=Strict cookie and in the form, and a cross-site post carries no such cookie.
"""

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from keyport.contacts.models import Contact, PortalLink
from keyport.contacts.queries import find_portal_link
from keyport.contacts.services import portal_link_redeem, sign_in_link_request
from keyport.lib.client_address import client_address
from keyport.lib.rate_limits import RateLimitAnswer, rate_limit_hit, rate_limit_slow_down
from keyport.portal.branding import branding_of_contact
from keyport.portal.forms import ContinueForm, SignInRequestForm
from keyport.portal.sessions import portal_contact, portal_session_start

SENT_MESSAGE = "If this email belongs to an account, we sent a sign-in link"
CONTINUE_COOKIE = "keyport_continue"


def _private(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        add_never_cache_headers(response)
        return response

    return wrapper


def _wait_before_next_link(request: HttpRequest, email: str) -> RateLimitAnswer | None:
    """None if a link may be sent now; else how long to wait.

    Per address a plain limit a minute. Per email a growing delay rather than a block: a few
    links at once, then each next one only after twice the wait of the one before, never longer
    than a link lives. So someone asking for another person's links over and over cannot lock
    them out: when a request is refused, the link sent last is younger than the wait and still
    works (a refused request voids nothing). The answer depends only on the typed address, so
    it is the same for known and unknown emails.
    """
    by_address = rate_limit_hit(
        scope="login-address",
        identity=client_address(request),
        limit=settings.LOGIN_RATE_PER_ADDRESS_PER_MINUTE,
        window_seconds=60,
    )
    if not by_address.allowed:
        return by_address
    by_email = rate_limit_slow_down(
        scope="login-email",
        identity=email,
        free=settings.LOGIN_RATE_PER_EMAIL_PER_HOUR,
        first_delay_seconds=settings.LOGIN_EMAIL_FIRST_DELAY_SECONDS,
        max_delay_seconds=min(
            settings.LOGIN_EMAIL_MAX_DELAY_SECONDS, settings.PORTAL_SIGN_IN_LINK_MINUTES * 60
        ),
        forget_after_seconds=3600,
    )
    return None if by_email.allowed else by_email


@csrf_exempt
@_private
@require_http_methods(["GET", "HEAD", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = SignInRequestForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    context: dict[str, Any] = {"form": form, "signed_in": portal_contact(request)}
    if request.method != "POST":
        return render(request, "portal/login.html", context)
    if not form.is_valid():
        return render(request, "portal/login.html", context, status=400)
    email = form.cleaned_data["email"].strip().lower()
    wait = _wait_before_next_link(request, email)
    if wait is not None:
        context.update({"limited": True, "retry_minutes": wait.retry_after_minutes})
        response = render(request, "portal/login.html", context, status=429)
        response["Retry-After"] = str(wait.retry_after)
        return response
    sign_in_link_request(email=email)
    context.update({"sent_to": email, "sent_message": SENT_MESSAGE})
    return render(request, "portal/login_sent.html", context)


@_private
@require_http_methods(["GET", "HEAD"])
def link(request: HttpRequest, token: str) -> HttpResponse:
    """Shows Continue for a good link, or offers a fresh one; never signs anyone in by itself."""
    found = find_portal_link(token)
    if found is not None and _may_continue(found):
        return _continue_page(request, token, found)
    if found is None:
        return _fresh_link_page(request, email="")
    return _fresh_link_page(request, email=found.sent_to, contact=found.contact)


@csrf_exempt  # protected by the nonce instead; see the module's docstring
@_private
@require_POST
def continue_sign_in(request: HttpRequest) -> HttpResponse:
    contact = _redeem_in_same_browser(request)
    if contact is None:
        response = _fresh_link_page(request, email="")
    else:
        portal_session_start(request, contact)
        response = redirect("portal:home")
    response.delete_cookie(CONTINUE_COOKIE, path=reverse("sign_in:continue"), samesite="Strict")
    return response


# The views are decorated, and mutmut (make mutate) mutates no decorated function: the sign-in
# rules they apply are the undecorated functions below.


def _may_continue(found: PortalLink) -> bool:
    return found.is_usable_at(timezone.now()) and found.contact.may_sign_in


def _continue_page(request: HttpRequest, token: str, found: PortalLink) -> HttpResponse:
    """The Continue page, its nonce in the form and in a cookie only Continue's own path sees."""
    nonce = secrets.token_urlsafe(24)
    form = ContinueForm(initial={"token": token, "nonce": nonce})
    context = {"form": form, "link": found, "brand": branding_of_contact(found.contact)}
    response = render(request, "portal/link_continue.html", context)
    response.set_cookie(
        CONTINUE_COOKIE,
        nonce,
        max_age=3600,
        path=reverse("sign_in:continue"),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )
    return response


def _redeem_in_same_browser(request: HttpRequest) -> Contact | None:
    """The person the posted link signs in, if this browser was shown its Continue page (its
    nonce cookie matches the form's); the link is used up only then."""
    form = ContinueForm(request.POST)
    cookie = request.COOKIES.get(CONTINUE_COOKIE)
    same_browser = (
        form.is_valid() and cookie is not None and constant_time_compare(cookie, form.cleaned_data["nonce"])
    )
    return portal_link_redeem(token=form.cleaned_data["token"]) if same_browser else None


def _fresh_link_page(request: HttpRequest, *, email: str, contact: Contact | None = None) -> HttpResponse:
    """Offers a fresh link; in the person's site's branding when the old link says whose it was."""
    context: dict[str, Any] = {"form": SignInRequestForm(initial={"email": email})}
    if contact is not None:
        context["brand"] = branding_of_contact(contact)
    return render(request, "portal/link_expired.html", context)

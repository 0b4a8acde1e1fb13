"""The portal's Settings section: profile, email preferences, and changing the sign-in email."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from keyport.contacts.models import PortalAccess
from keyport.contacts.queries import sections_for_customer
from keyport.contacts.services import contact_actor
from keyport.events.models import EmailPreferences
from keyport.events.services import email_preferences_set
from keyport.frontdesk.email_change import (
    contact_email_change_confirm,
    contact_email_change_request,
    email_change_read,
)
from keyport.frontdesk.services import contact_profile_update
from keyport.lib.rate_limits import rate_limit_allows
from keyport.portal.sections_forms import EmailChangeForm, PreferencesForm, ProfileForm
from keyport.portal.sessions import (
    PortalRequest,
    full_portal_required,
    not_in_your_portal,
    portal_login_required,
    section_shown,
)

EMAIL_CHANGES_PER_HOUR = 5


def _settings_page(
    request: PortalRequest,
    profile: ProfileForm | None = None,
    email: EmailChangeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    sections = sections_for_customer(request.customer)
    if not sections.shows("settings"):
        return not_in_your_portal(request)
    contact = request.contact
    preferences = EmailPreferences.objects.filter(contact=contact).first()
    context = {
        "sections": sections,
        "section": "settings",
        # The profile and the sign-in email belong to a storage account; Ticket-only people
        # choose which emails they get, nothing else.
        "can_edit_profile": request.portal_access == PortalAccess.FULL,
        "profile_form": profile
        or ProfileForm(
            initial={"first_name": contact.first_name, "last_name": contact.last_name, "phone": contact.phone}
        ),
        "email_form": email or EmailChangeForm(),
        "preferences_form": PreferencesForm(
            initial={"event_invitations": preferences is None or preferences.event_invitations}
        ),
    }
    return render(request, "portal/sections/settings.html", context, status=status)


@portal_login_required  # Ticket-only people see their email preferences only
def account_settings(request: PortalRequest) -> HttpResponse:
    return _settings_page(request)


@require_POST
@full_portal_required
def profile_save(request: PortalRequest) -> HttpResponse:
    if not section_shown(request, "settings"):
        return not_in_your_portal(request)
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, profile=form, status=400)
    contact = request.contact
    contact_profile_update(actor=contact_actor(contact), contact=contact, **form.cleaned_data)
    messages.success(request, "Your profile is saved.")
    return redirect("portal:settings")


@require_POST
@full_portal_required
def email_change(request: PortalRequest) -> HttpResponse:
    if not section_shown(request, "settings"):
        return not_in_your_portal(request)
    form = EmailChangeForm(request.POST)
    # Each request emails an address the person types in: without a limit the portal would
    # send as many of the facility's emails to anyone as a signed-in person asks for.
    if form.is_valid() and not rate_limit_allows(
        scope="email-change",
        identity=str(request.contact.pk),
        limit=EMAIL_CHANGES_PER_HOUR,
        window_seconds=3600,
    ):
        form.add_error("email", "Too many requests for a new email address. Try again in an hour.")
        return _settings_page(request, email=form, status=429)
    if form.is_valid():
        try:
            contact_email_change_request(contact=request.contact, new_email=form.cleaned_data["email"])
        except ValidationError as error:
            form.add_error("email", error.messages)
        else:
            messages.success(
                request, f"We sent a link to {form.cleaned_data['email']}. Open it to confirm the change."
            )
            return redirect("portal:settings")
    return _settings_page(request, email=form, status=400)


@require_POST
@portal_login_required
def preferences_save(request: PortalRequest) -> HttpResponse:
    if not section_shown(request, "settings"):
        return not_in_your_portal(request)
    form = PreferencesForm(request.POST)
    form.is_valid()
    email_preferences_set(
        actor=contact_actor(request.contact),
        contact=request.contact,
        event_invitations=bool(form.cleaned_data.get("event_invitations")),
    )
    messages.success(request, "Your email preferences are saved.")
    return redirect("portal:settings")


@never_cache
def email_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Opened from the new address. GET only shows the question, so mail scanners change nothing.

    The token sits in the path: the page is never cached, and the log filter
    (keyport.lib.log_redaction) removes it from request logs. The page keeps the site's
    same-origin Referrer-Policy: with no-referrer its Confirm post would fail Django's CSRF check.
    """
    found = email_change_read(token)
    if found is None:
        return render(request, "portal/sections/email_confirm.html", {"invalid": True}, status=400)
    if request.method == "POST":
        try:
            contact_email_change_confirm(token=token)
        except ValidationError as error:
            # The address was given to someone else after the link was sent.
            context = {"refused": " ".join(error.messages), "new_email": found[1]}
            return render(request, "portal/sections/email_confirm.html", context, status=400)
        return render(request, "portal/sections/email_confirm.html", {"done": True, "new_email": found[1]})
    return render(request, "portal/sections/email_confirm.html", {"new_email": found[1]})

"""The customer portal's emails: the invite, the sign-in link, and a change of sign-in address
(the confirmation to the new address, the notice to the old one).

Each is operator-editable (Emails in the dashboard); the defaults ship here and are registered
with the emails app when the contacts app loads. Each carries the branding of the person's
portal location. The links sign someone in or change their address, so they go in as secrets:
the email log holds only a placeholder.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils.translation import ngettext

from keyport.contacts.models import Contact
from keyport.contacts.queries import portal_location, portal_login_path
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import email_queue_from_template

PORTAL_INVITE = "portal_invite"
PORTAL_SIGN_IN_LINK = "portal_sign_in_link"
PORTAL_EMAIL_CHANGED = "portal_email_changed"
PORTAL_EMAIL_CHANGE_CONFIRM = "portal_email_change_confirm"

_PERSON = {
    "first_name": "Mara",
    "full_name": "Mara Schneider",
    "customer_name": "Mara Schneider",
    "site_name": "Keyport",
    "login_url": "https://portal.example.com/login/",
}

register_default_template(
    DefaultTemplate(
        key=PORTAL_INVITE,
        name="Portal invite",
        description="Sent by Send Invite / Resend Invite: a one-time link into the customer portal.",
        subject="Your {{ site_name }} customer portal",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "you can now use the {{ site_name }} customer portal for {{ customer_name }}.\n"
            "Open this link to sign in (it works once, for {{ valid_for }}):\n\n"
            "{{ link }}\n\n"
            "Later, sign in any time on our login page with this email address:\n"
            "{{ login_url }}\n\n"
            "If you did not expect this email, you can ignore it.\n"
        ),
        sample={
            **_PERSON,
            "link": "https://portal.example.com/login/link/EXAMPLE-ONE-TIME-TOKEN/",
            "valid_for": "72 hours",
        },
        required=("link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=PORTAL_SIGN_IN_LINK,
        name="Portal sign-in link",
        description="Sent when someone asks for a sign-in link on the login page.",
        subject="Your sign-in link for {{ site_name }}",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "here is your link to sign in to the {{ site_name }} customer portal.\n"
            "It works once, for {{ valid_for }}:\n\n"
            "{{ link }}\n\n"
            "If you did not ask for it, you can ignore this email; nobody can sign in without it.\n"
        ),
        sample={
            **_PERSON,
            "link": "https://portal.example.com/login/link/EXAMPLE-ONE-TIME-TOKEN/",
            "valid_for": "10 minutes",
        },
        required=("link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=PORTAL_EMAIL_CHANGE_CONFIRM,
        name="Portal email change confirmation",
        description=(
            "Sent to the new address when a person changes their email in the portal's Settings: "
            "nothing changes until they open its link."
        ),
        subject="Confirm your new {{ site_name }} sign-in email",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "please confirm that you want to sign in to the {{ site_name }} customer portal "
            "with this address ({{ new_email }}) from now on:\n{{ link }}\n\n"
            "The link works for {{ valid_for }}. If you did not ask for this, ignore this email; "
            "nothing changes.\n"
        ),
        sample={
            **_PERSON,
            "new_email": "mara@new.example.com",
            "link": "https://portal.example.com/portal/settings/email/EXAMPLE-TOKEN/",
            "valid_for": "24 hours",
        },
        required=("link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=PORTAL_EMAIL_CHANGED,
        name="Portal email changed",
        description="Sent to the old address when a contact's email address is changed.",
        subject="Your {{ site_name }} sign-in email was changed",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "the email address you use for the {{ site_name }} customer portal was changed "
            "from {{ old_email }} to {{ new_email }}.\n"
            "Earlier sign-in links no longer work, and you were signed out everywhere.\n\n"
            "If you did not ask for this, please contact us.\n"
        ),
        sample={**_PERSON, "old_email": "mara@old.example.com", "new_email": "mara@new.example.com"},
    )
)


def _person(contact: Contact) -> dict[str, str]:
    return {
        "first_name": contact.first_name,
        "full_name": contact.full_name,
        "customer_name": contact.customer.name,
        "login_url": settings.PUBLIC_BASE_URL + portal_login_path(portal_location(contact.customer)),
    }


def lifetime_label(lifetime: dt.timedelta) -> str:
    """How long a link works, in whole hours when it is, else in minutes ("72 hours", "10 minutes")."""
    hours, seconds = divmod(int(lifetime.total_seconds()), 3600)
    if hours and not seconds:
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    minutes = int(lifetime.total_seconds()) // 60
    return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}


def _portal_link_email(*, key: str, contact: Contact, token: str, lifetime: dt.timedelta) -> None:
    assert contact.email is not None  # noqa: S101 - callers check may_sign_in
    email_queue_from_template(
        key=key,
        to=contact.email,
        contact=contact,
        location=portal_location(contact.customer),
        context={**_person(contact), "valid_for": lifetime_label(lifetime)},
        secrets={"link": settings.PUBLIC_BASE_URL + reverse("sign_in:link", args=[token])},
    )


def portal_invite_email(*, contact: Contact, token: str, lifetime: dt.timedelta) -> None:
    """Send Invite / Resend Invite: the one-time link that signs the person in."""
    _portal_link_email(key=PORTAL_INVITE, contact=contact, token=token, lifetime=lifetime)


def portal_sign_in_link_email(*, contact: Contact, token: str, lifetime: dt.timedelta) -> None:
    """The one-time link someone asked for on the login page."""
    _portal_link_email(key=PORTAL_SIGN_IN_LINK, contact=contact, token=token, lifetime=lifetime)


def email_change_confirm_email(
    *, contact: Contact, new_email: str, token: str, lifetime: dt.timedelta
) -> None:
    """To the new address: the link that makes it the person's sign-in address."""
    email_queue_from_template(
        key=PORTAL_EMAIL_CHANGE_CONFIRM,
        to=new_email,
        contact=contact,
        location=portal_location(contact.customer),
        context={**_person(contact), "new_email": new_email, "valid_for": lifetime_label(lifetime)},
        secrets={"link": settings.PUBLIC_BASE_URL + reverse("portal:email_confirm", args=[token])},
    )


def email_changed_email(*, contact: Contact, old_email: str) -> None:
    """To the old address, once the change is made: in case it was not theirs to make."""
    email_queue_from_template(
        key=PORTAL_EMAIL_CHANGED,
        to=old_email,
        contact=contact,
        location=portal_location(contact.customer),
        context={
            **_person(contact),
            "old_email": old_email,
            "new_email": contact.email or "(no email address)",
        },
    )

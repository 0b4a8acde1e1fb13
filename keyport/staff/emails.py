"""The staff's emails: the invite to the team and the password reset link.

Each is operator-editable (Email templates in the dashboard); the defaults ship here and are
registered with the emails app when the staff app loads. They carry the install's branding (a
staff member belongs to no one site). The links set a password, so they go in as secrets: the
email log holds only a placeholder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils.translation import ngettext

from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import email_queue_from_template

if TYPE_CHECKING:
    from keyport.staff.models import StaffUser

STAFF_INVITE = "staff_invite"
STAFF_RESET_LINK = "staff_password_reset"

_PERSON = {"full_name": "Jonas Weber", "site_name": "Keyport", "email": "jonas@example.com"}

register_default_template(
    DefaultTemplate(
        key=STAFF_INVITE,
        name="Staff invite",
        description="Sent by Invite staff member / Resend invite on the Staff page: a one-time link "
        "to set a password for the staff dashboard.",
        subject="You are invited to the {{ site_name }} staff dashboard",
        body_text=(
            "Hello {{ full_name }},\n\n"
            "{{ invited_by }} invited you to the {{ site_name }} staff dashboard as {{ role }}.\n"
            "Open this link to set your password and sign in (it works once, for {{ valid_for }}):\n\n"
            "{{ link }}\n\n"
            "Afterwards you sign in with {{ email }} and your password at:\n{{ login_url }}\n\n"
            "If you did not expect this email, you can ignore it.\n"
        ),
        sample={
            **_PERSON,
            "invited_by": "Olga Owner",
            "role": "Manager",
            "valid_for": "72 hours",
            "login_url": "https://keyport.example.com/dashboard/login/",
            "link": "https://keyport.example.com/dashboard/invite/EXAMPLE-ONE-TIME-TOKEN/",
        },
        required=("link",),
    )
)

register_default_template(
    DefaultTemplate(
        key=STAFF_RESET_LINK,
        name="Staff password reset",
        description="Sent when a staff member asks for Forgot password? on the dashboard's sign-in page.",
        subject="Set a new password for {{ site_name }}",
        body_text=(
            "Hello {{ full_name }},\n\n"
            "someone asked to set a new password for {{ email }} on the {{ site_name }} staff "
            "dashboard. Open this link to choose one (it works once, for {{ valid_for }}):\n\n"
            "{{ link }}\n\n"
            "If you did not ask for it, ignore this email: your password stays as it is.\n"
        ),
        sample={
            **_PERSON,
            "valid_for": "1 hour",
            "link": "https://keyport.example.com/dashboard/password-reset/MQ/EXAMPLE-TOKEN/",
        },
        required=("link",),
    )
)


def _hours(seconds: int) -> str:
    hours = max(1, seconds // 3600)
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}


def staff_invite_email(*, member: StaffUser, invited_by: str, token: str, lifetime_seconds: int) -> None:
    email_queue_from_template(
        key=STAFF_INVITE,
        to=member.email,
        contact=None,
        context={
            "full_name": member.full_name,
            "email": member.email,
            "invited_by": invited_by,
            "role": member.get_role_display(),
            "valid_for": _hours(lifetime_seconds),
            "login_url": settings.PUBLIC_BASE_URL + reverse("dashboard:login"),
        },
        secrets={"link": settings.PUBLIC_BASE_URL + reverse("dashboard:staff_invite_accept", args=[token])},
    )


def staff_password_reset_email(*, member: StaffUser, uidb64: str, token: str) -> None:
    email_queue_from_template(
        key=STAFF_RESET_LINK,
        to=member.email,
        contact=None,
        context={
            "full_name": member.full_name,
            "email": member.email,
            "valid_for": _hours(settings.PASSWORD_RESET_TIMEOUT),
        },
        secrets={
            "link": settings.PUBLIC_BASE_URL
            + reverse("dashboard:password_reset_confirm", args=[uidb64, token])
        },
    )

"""The emails Keyport sends with an operator-editable template, and the text each ships with.

An operator's edited version lives in EmailTemplate; without one, the default here is used.
`sample` is the context the dashboard's preview renders with; a real email gets the same keys.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class DefaultTemplate:
    key: str
    name: str
    description: str
    subject: str
    body_text: str
    sample: dict[str, str] = field(default_factory=dict)
    required: tuple[str, ...] = ()


PORTAL_INVITE = "portal_invite"
PORTAL_SIGN_IN_LINK = "portal_sign_in_link"
PORTAL_EMAIL_CHANGED = "portal_email_changed"

_PERSON = {
    "first_name": "Mara",
    "full_name": "Mara Schneider",
    "customer_name": "Mara Schneider",
    "site_name": "Keyport",
}

DEFAULT_TEMPLATES: dict[str, DefaultTemplate] = {
    template.key: template
    for template in [
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
                "login_url": "https://portal.example.com/login/",
                "valid_for": "72 hours",
            },
            required=("link",),
        ),
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
                "login_url": "https://portal.example.com/login/",
                "valid_for": "10 minutes",
            },
            required=("link",),
        ),
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
        ),
    ]
}


def register_default_template(template: DefaultTemplate) -> None:
    """Other apps add their own editable emails (e.g. "Shared Access") at import time."""
    DEFAULT_TEMPLATES[template.key] = template

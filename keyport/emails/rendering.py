from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.template import TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils.html import escape, urlize

from keyport.emails.defaults import DefaultTemplate
from keyport.emails.sandbox import render_string
from keyport.facilities.models import DARK_TEXT, Branding


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str


def render_email(subject: str, body_text: str, context: dict[str, str]) -> RenderedEmail:
    # A subject is one line: a template that renders line breaks into it must not split headers.
    rendered_subject = " ".join(render_string(subject, context).split())
    return RenderedEmail(subject=rendered_subject[:255], body_text=render_string(body_text, context))


def render_email_html(rendered: RenderedEmail, branding: Branding) -> str:
    """The HTML version of an email: the site's name on its colour above the text body.

    No logo: an uploaded logo has no public URL yet for mail clients to load it from.
    """
    context = {
        "subject": rendered.subject,
        "body_text": rendered.body_text,
        "brand": branding,
        "header_background": branding.colour or "#f8f9fa",
        "header_text": branding.text_colour or DARK_TEXT,
    }
    return render_to_string("emails/branded.html", context)


def secret_placeholder(name: str) -> str:
    """What an email's stored bodies hold in place of the secret `name` (a one-time link, a guest's
    key): the worker puts the secret there as it sends, so the log never holds it. Nothing in it
    is changed by HTML escaping or by urlize."""
    return f"[{name}: added when sent, never kept in the log]"


def secrets_filled_in(body_text: str, body_html: str, secrets: dict[str, str]) -> tuple[str, str]:
    """The text and HTML bodies as they go out: each placeholder replaced by its secret, which the
    HTML shows as a link, as its urlize of the text body does for every other address."""
    for name, secret in secrets.items():
        placeholder = secret_placeholder(name)
        body_text = body_text.replace(placeholder, secret)
        body_html = body_html.replace(escape(placeholder), urlize(secret, nofollow=True, autoescape=True))
    return body_text, body_html


def validate_template(default: DefaultTemplate, subject: str, body_text: str) -> None:
    """Errors beside the field: a template that does not compile or fails when run with the
    preview's example data, or that drops what the email is for."""
    errors: dict[str, list[str]] = {}
    markers = {name: f"KEYPORT-REQUIRED-{name}" for name in default.required}
    for field, source in (("subject", subject), ("body_text", body_text)):
        if not source.strip():
            errors.setdefault(field, []).append("This cannot be empty.")
            continue
        try:
            rendered = render_string(source, {**default.sample, **markers})
        except TemplateSyntaxError as error:
            errors.setdefault(field, []).append(f"Template error: {error}")
            continue
        for name, marker in markers.items():
            if field == "subject" and marker in rendered:
                # A subject is kept in the email log as sent: a one-time link in it would stay readable.
                errors.setdefault("subject", []).append(
                    f"The subject cannot contain {{{{ {name} }}}}: subjects are kept in the email log."
                )
            elif field == "body_text" and marker not in rendered:
                errors.setdefault("body_text", []).append(f"The body must contain {{{{ {name} }}}}.")
    if errors:
        raise ValidationError(errors)

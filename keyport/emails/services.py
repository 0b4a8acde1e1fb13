from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.template import TemplateSyntaxError
from django.utils import timezone

from keyport.audit.services import Actor, audit_record
from keyport.emails.attachments import attachments_made
from keyport.emails.defaults import DEFAULT_TEMPLATES
from keyport.emails.models import EmailStatus, EmailTemplate, OutgoingEmail
from keyport.emails.queries import TemplateContent, get_template_content, shipped_content
from keyport.emails.rendering import (
    render_email,
    render_email_html,
    secret_placeholder,
    secrets_filled_in,
    validate_template,
)
from keyport.facilities.models import Branding, Location
from keyport.facilities.queries import branding_for
from keyport.lib.background import enqueue_on_commit

if TYPE_CHECKING:
    from keyport.contacts.models import Contact

logger = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 5


def email_queue(
    *,
    to: str,
    subject: str,
    body_text: str,
    template: str,
    body_html: str = "",
    contact: Contact | None = None,
    secrets: dict[str, str] | None = None,
    attachments: list[dict[str, object]] | None = None,
) -> OutgoingEmail:
    """Log an email and send it from the worker once the caller's transaction commits (at once
    outside one).

    An email carrying a secret (a one-time link, a guest's key) has `secret_placeholder(name)` in
    its bodies where the secret goes and passes the secret in `secrets`: the worker puts it in as
    it sends, and it is forgotten once the email is delivered or given up. The log, the admin and
    the dashboard only ever see the placeholder; the subject never carries a secret.

    `template` names the email in the catalogue (`DEFAULT_TEMPLATES`): an email that is not there
    could not be edited by the operator, so it is refused.
    """
    from keyport.emails.tasks import deliver_email

    if template not in DEFAULT_TEMPLATES:
        raise ValueError(f"{template!r} is not an email in the catalogue: register its template.")
    secrets = secrets or {}
    if any(
        secret and secret in text for secret in secrets.values() for text in (subject, body_text, body_html)
    ):
        raise ValueError("A secret goes into an email as its placeholder, never as itself.")
    email = OutgoingEmail.objects.create(
        to=to,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        template=template,
        contact=contact,
        secrets_to_send=secrets,
        attachments=attachments or [],
    )
    enqueue_on_commit(deliver_email, email.pk)
    return email


def email_deliver(*, email_id: int) -> OutgoingEmail:
    """Send one logged email. Safe to call twice: a delivered email is not sent again."""
    with transaction.atomic():
        email = OutgoingEmail.objects.select_for_update().get(pk=email_id)
        if email.status != EmailStatus.QUEUED:
            return email
        if email.attempts >= MAX_DELIVERY_ATTEMPTS:
            # Every attempt ended without an outcome recorded (the worker or database went away).
            email.status = EmailStatus.FAILED
            email.secrets_to_send = {}
            email.save(update_fields=["status", "secrets_to_send"])
            return email
        email.attempts += 1
        email.save(update_fields=["attempts"])
    body_text, body_html = secrets_filled_in(email.body_text, email.body_html, email.secrets_to_send)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.to],
        headers={"Message-ID": email.message_id()},
    )
    if body_html:
        message.attach_alternative(body_html, "text/html")
    for attachment in attachments_made(email.attachments):
        message.attach(attachment.filename, attachment.content, attachment.mimetype)
    connection = get_connection()
    try:
        try:
            # Opened here so that closing is ours: a server that took the message and then fails
            # to answer QUIT (a timeout, a reset) has delivered it, and it must not go out again.
            connection.open()
            connection.send_messages([message])
        finally:
            with contextlib.suppress(Exception):
                connection.close()
    except Exception as error:  # Any transport failure is recorded, never lost.
        email.last_error = f"{type(error).__name__}: {error}"[:2000]
        if email.attempts >= MAX_DELIVERY_ATTEMPTS:
            email.status = EmailStatus.FAILED
            email.secrets_to_send = {}
        email.save(update_fields=["last_error", "status", "secrets_to_send"])
        logger.warning("Email %s not delivered (attempt %s): %s", email.pk, email.attempts, email.last_error)
        return email
    email.status = EmailStatus.SENT
    email.sent_at = timezone.now()
    email.last_error = ""
    email.secrets_to_send = {}
    email.save(update_fields=["status", "sent_at", "last_error", "secrets_to_send"])
    return email


@transaction.atomic
def email_template_save(*, actor: Actor, key: str, subject: str, body_text: str) -> EmailTemplate:
    """Keep the operator's own version of one of Keyport's emails."""
    default = get_template_content(key).default
    validate_template(default, subject, body_text)
    template, created = EmailTemplate.objects.update_or_create(
        key=key,
        defaults={
            "subject": subject.strip(),
            "body_text": body_text,
            "updated_at": timezone.now(),
            "updated_by": actor.label[:200],
        },
    )
    audit_record(
        actor=actor,
        action="email_template.created" if created else "email_template.updated",
        target=template,
        details={"key": key},
    )
    return template


@transaction.atomic
def email_template_reset(*, actor: Actor, key: str) -> None:
    """Go back to the shipped default."""
    template = EmailTemplate.objects.filter(key=key).first()
    if template is None:
        return
    audit_record(actor=actor, action="email_template.reset", target=template, details={"key": key})
    template.delete()


@dataclass(frozen=True)
class Recipient:
    """One person an email from a template goes to, with what fills it in for them."""

    to: str
    contact: Contact | None
    context: dict[str, str]
    secrets: dict[str, str] = field(default_factory=dict)
    attachments: list[dict[str, object]] = field(default_factory=list)


@transaction.atomic
def email_queue_from_template(
    *,
    key: str,
    to: str,
    contact: Contact | None,
    context: dict[str, str],
    secrets: dict[str, str] | None = None,
    location: Location | None = None,
) -> OutgoingEmail:
    """Render one of Keyport's emails (operator's version or default) and queue it: see
    `emails_queue_from_template`, for one recipient."""
    recipient = Recipient(to=to, contact=contact, context=context, secrets=secrets or {})
    return emails_queue_from_template(key=key, recipients=[recipient], location=location)[0]


@transaction.atomic
def emails_queue_from_template(
    *, key: str, recipients: Sequence[Recipient], location: Location | None = None
) -> list[OutgoingEmail]:
    """Render one of Keyport's emails (operator's version or default) for each recipient and queue
    them, as text and HTML; the template is read once, however many they are.

    Each carries the branding of `location` (see `branding_for`): the site's name fills
    {{ site_name }} and heads the HTML version with the site's colour and logo.
    A recipient's `secrets` (such as a one-time link) go into the email the worker sends, never
    into the log: see `email_queue`.
    """
    content = get_template_content(key)
    branding = branding_for(location)
    queued = []
    for recipient in recipients:
        try:
            email = _email_from_template(key, content, recipient, branding)
        except TemplateSyntaxError:
            if not content.is_customised:
                raise
            # The operator's wording fails for this recipient's data (it passed the example data):
            # the shipped wording still tells them. The error is not logged: it may quote what
            # customers typed.
            logger.warning("Email template %s failed for one recipient; sent the default wording", key)
            shipped = shipped_content(content.default)
            email = _email_from_template(key, shipped, recipient, branding)
        queued.append(email)
    return queued


def _email_from_template(
    key: str, content: TemplateContent, recipient: Recipient, branding: Branding
) -> OutgoingEmail:
    # Rendered with each secret's placeholder: the worker puts the secrets into the bodies as it
    # sends, never into the subject (a template saved before subjects were checked keeps the
    # placeholder there).
    placeholders = {name: secret_placeholder(name) for name in recipient.secrets}
    context = {**recipient.context, "site_name": branding.name, **placeholders}
    rendered = render_email(content.subject, content.body_text, context)
    return email_queue(
        to=recipient.to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=render_email_html(rendered, branding),
        template=key,
        contact=recipient.contact,
        secrets=recipient.secrets,
        attachments=recipient.attachments,
    )


@transaction.atomic
def email_template_send_test(*, key: str, to: str, subject: str, body_text: str) -> OutgoingEmail:
    """Send this wording of an email, filled with the preview's example data, to a staff member.

    Refused like a save when the wording is wrong; logged like every other email.
    """
    default = get_template_content(key).default
    validate_template(default, subject, body_text)
    branding = branding_for(None)
    rendered = render_email(subject, body_text, {**default.sample, "site_name": branding.name})
    return email_queue(
        to=to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=render_email_html(rendered, branding),
        template=key,
    )

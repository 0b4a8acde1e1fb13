"""The events' email: the invitation each invitee gets (Invite on the event's page).

Operator-editable (Emails in the dashboard); the default ships here and is registered with the
emails app when the events app loads. It carries the branding of the event's location.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.utils import formats

from keyport.contacts.queries import portal_login_path
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import Recipient, emails_queue_from_template
from keyport.events.models import Event, Ticket

EVENT_INVITATION = "event_invitation"

register_default_template(
    DefaultTemplate(
        key=EVENT_INVITATION,
        name="Event invitation",
        description=(
            "Sent to each person invited to an event, unless they turned invitation emails off in "
            "the portal's Settings (their ticket still shows in the portal)."
        ),
        subject="You are invited: {{ event_title }}",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "{{ location_name }} invites you to {{ event_title }}.\n"
            "When: {{ starts_at }} ({{ time_zone }})\n"
            "Where: {{ place }}\n\n"
            "Please answer by {{ answer_by }}. Sign in to the customer portal with this email address "
            "to answer and to see your ticket with its QR code:\n"
            "{{ login_url }}\n"
        ),
        sample={
            "site_name": "Keyport",
            "first_name": "Mara",
            "full_name": "Mara Schneider",
            "location_name": "Lager Kreuzberg",
            "event_title": "Cars and coffee",
            "starts_at": "Saturday 6 June 2026, 10:00",
            "time_zone": "Europe/Berlin",
            "place": "Yard by gate 2",
            "answer_by": "4 June 2026, 18:00",
            "login_url": "https://portal.example.com/login/?location=1",
        },
    )
)


def event_invitation_emails(*, event: Event, tickets: Sequence[Ticket]) -> None:
    """The invitation to the event for each ticket's person, in the event location's time zone."""
    location = event.location
    deadline = (event.rsvp_deadline or event.starts_at).astimezone(location.zone)
    context = {
        "location_name": location.name,
        "event_title": event.title,
        "starts_at": formats.date_format(event.local_starts_at(), "l j F Y, H:i"),
        "time_zone": location.time_zone,
        "place": event.place,
        "answer_by": formats.date_format(deadline, "j F Y, H:i"),
        "login_url": settings.PUBLIC_BASE_URL + portal_login_path(location),
    }
    recipients = [
        Recipient(
            to=ticket.contact.email or "",
            contact=ticket.contact,
            context={
                **context,
                "first_name": ticket.contact.first_name,
                "full_name": ticket.contact.full_name,
            },
        )
        for ticket in tickets
    ]
    if recipients:
        emails_queue_from_template(key=EVENT_INVITATION, recipients=recipients, location=location)

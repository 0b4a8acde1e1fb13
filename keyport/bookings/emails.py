"""The bookings' emails to the tenant.

Each is operator-editable (Emails in the dashboard); the defaults ship here and are registered
with the emails app when the bookings app loads.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone

from keyport.access.emails import local_day
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import Recipient, emails_queue_from_template

if TYPE_CHECKING:
    from keyport.bookings.models import Booking


# Move-out: sent when staff record the move-out (now, at the end of today, or on a later day), so
# the tenant has the date and the instant their access ends in writing; a change sends it again,
# and a cancelled scheduled move-out sends "Move-out cancelled".

MOVE_OUT = "move_out"
MOVE_OUT_CANCELLED = "move_out_cancelled"

_MOVE_OUT_SAMPLE = {
    "site_name": "Keyport",
    "first_name": "Mara",
    "units": "Storage unit A010",
    "location_name": "Lager Kreuzberg",
    "move_out_day": "Sat 12 Dec 2026",
}

register_default_template(
    DefaultTemplate(
        key=MOVE_OUT,
        name="Move-out",
        description=(
            "Sent to the tenant's portal people when staff record a move-out (Move out on the "
            "booking's page), and again when they change its date: it confirms when access ends."
        ),
        subject="Your move-out from {{ units }} at {{ location_name }}",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "this confirms your move-out from {{ units }} at {{ location_name }} on {{ move_out_day }}.\n"
            "{{ access_ends }}\n"
            "Access you shared with guests for these units ends then as well.\n\n"
            "Please leave the units empty and unlocked by then. If this date is not right, "
            "please contact us.\n"
        ),
        sample={
            **_MOVE_OUT_SAMPLE,
            "access_ends": (
                "Your PIN and the portal's Open buttons work until the end of that day (Europe/Berlin time)."
            ),
        },
    )
)


register_default_template(
    DefaultTemplate(
        key=MOVE_OUT_CANCELLED,
        name="Move-out cancelled",
        description=(
            "Sent to the tenant's portal people when staff cancel a scheduled move-out: the rental "
            "goes on, open-ended."
        ),
        subject="Your move-out from {{ units }} at {{ location_name }} is cancelled",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "the move-out from {{ units }} at {{ location_name }} on {{ move_out_day }} is cancelled: "
            "your rental goes on, and your PIN and the portal's Open buttons keep working.\n\n"
            "If this is not what you agreed, please contact us.\n"
        ),
        sample=_MOVE_OUT_SAMPLE,
    )
)


def _access_ends(booking: Booking) -> str:
    zone = booking.location.zone
    if booking.ended_at is not None:
        ended = timezone.localtime(booking.ended_at, zone)
        return (
            f"Your access ended at {ended:%H:%M} ({booking.location.time_zone} time): your PIN and "
            "the portal's Open buttons no longer open the doors."
        )
    return (
        "Your PIN and the portal's Open buttons work until the end of that day "
        f"({booking.location.time_zone} time)."
    )


def move_out_email(*, booking: Booking) -> None:
    """To the tenant's portal people: the move-out date and when their access ends."""
    assert booking.ends_on is not None  # noqa: S101 - a move-out sets the last day
    _to_tenant(
        key=MOVE_OUT,
        booking=booking,
        move_out_day=booking.ends_on,
        context={"access_ends": _access_ends(booking)},
    )


def move_out_cancelled_email(*, booking: Booking, was: dt.date) -> None:
    """To the tenant's portal people: the move-out on `was` will not happen."""
    _to_tenant(key=MOVE_OUT_CANCELLED, booking=booking, move_out_day=was, context={})


def _to_tenant(*, key: str, booking: Booking, move_out_day: dt.date, context: dict[str, str]) -> None:
    shared = {
        "units": ", ".join(sorted(str(unit) for unit in booking.units.all())),
        "location_name": booking.location.name,
        "move_out_day": local_day(move_out_day),
        **context,
    }
    people = booking.customer.contacts.filter(can_access_portal=True, email__isnull=False).order_by("pk")
    emails_queue_from_template(
        key=key,
        recipients=[
            Recipient(
                to=contact.email or "", contact=contact, context={**shared, "first_name": contact.first_name}
            )
            for contact in people
        ],
        location=booking.location,
    )

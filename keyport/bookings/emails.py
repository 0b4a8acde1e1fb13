"""The bookings' emails to the tenant.

Each is operator-editable (Emails in the dashboard); the defaults ship here and are registered
with the emails app when the bookings app loads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils import timezone

from keyport.access.emails import local_day
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import Recipient, emails_queue_from_template

if TYPE_CHECKING:
    from keyport.bookings.models import Booking


# Move-out: sent when staff record the move-out (now, at the end of today, or on a later day), so
# the tenant has the date and the instant their access ends in writing; a change sends it again.

MOVE_OUT = "move_out"

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
            "site_name": "Keyport",
            "first_name": "Mara",
            "units": "Storage unit A010",
            "location_name": "Lager Kreuzberg",
            "move_out_day": "Sat 12 Dec 2026",
            "access_ends": (
                "Your PIN and the portal's Open buttons work until the end of that day (Europe/Berlin time)."
            ),
        },
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
    context = {
        "units": ", ".join(sorted(str(unit) for unit in booking.units.all())),
        "location_name": booking.location.name,
        "move_out_day": local_day(booking.ends_on),
        "access_ends": _access_ends(booking),
    }
    people = booking.customer.contacts.filter(can_access_portal=True, email__isnull=False).order_by("pk")
    emails_queue_from_template(
        key=MOVE_OUT,
        recipients=[
            Recipient(
                to=contact.email or "", contact=contact, context={**context, "first_name": contact.first_name}
            )
            for contact in people
        ],
        location=booking.location,
    )

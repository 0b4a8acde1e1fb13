"""The emails of a booking's life: the Welcome on a move-in, the Move-out and its cancellation.

Each is operator-editable (Emails in the dashboard); the defaults ship here and are registered
with the emails app when the bookings app loads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext

from keyport.contacts.emails import lifetime_label
from keyport.contacts.queries import portal_login_path
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import Recipient, email_queue_from_template, emails_queue_from_template
from keyport.lib.times import local_day

if TYPE_CHECKING:
    from keyport.bookings.models import Booking
    from keyport.contacts.models import Contact
    from keyport.facilities.models import Location, Unit


# Welcome ---------------------------------------------------------------------------------------

WELCOME = "welcome"

register_default_template(
    DefaultTemplate(
        key=WELCOME,
        name="Welcome",
        description=(
            "Sent on a Move in to each of the customer's people who can access the portal: their units, "
            "the address, opening hours, how to get in, and a link that signs them in."
        ),
        subject="Welcome to {{ location_name }}: {{ units }}",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "welcome to {{ location_name }}! {{ customer_name }} rents {{ units }} from {{ starts_on }}.\n\n"
            "Address: {{ location_address }}\n"
            "Opening hours: {{ opening_hours }}\n\n"
            "How to get in: type your PIN {{ pin }} at the keypad, or open the doors with the Open "
            "buttons in the {{ site_name }} customer portal.\n\n"
            "Sign in to the portal with this link (it works once, for {{ valid_for }}):\n"
            "{{ link }}\n\n"
            "Later, sign in any time on our login page with this email address:\n"
            "{{ login_url }}\n"
        ),
        sample={
            "first_name": "Mara",
            "customer_name": "Mara Schneider",
            "site_name": "Keyport",
            "location_name": "Lager Kreuzberg",
            "location_address": "Hauptstraße 1, 10115 Berlin, DE",
            "units": "Storage unit A010, Storage unit A011",
            "starts_on": "2 March 2026",
            "opening_hours": "Monday 06:00–22:00, Tuesday 06:00–22:00",
            "pin": "482913",
            "valid_for": "72 hours",
            "link": "https://portal.example.com/login/link/EXAMPLE-ONE-TIME-TOKEN/",
            "login_url": "https://portal.example.com/login/?location=1",
        },
        required=("link",),
    )
)


def opening_hours_text(location: Location) -> str:
    """The location's opening hours in one line, or that it is open around the clock."""
    periods = [str(period) for period in location.opening_hours.all()]
    return ", ".join(periods) if periods else gettext("open around the clock")


def welcome_email(
    *, booking: Booking, contact: Contact, pin: str, token: str, lifetime: dt.timedelta
) -> None:
    """To one of the customer's portal people on a move-in; the PIN and the sign-in link go in as
    secrets, so the email log holds neither."""
    assert contact.email is not None  # noqa: S101 - only portal contacts, who have an email
    location = booking.location
    units: Sequence[str] = sorted(str(unit) for unit in booking.units.all())
    email_queue_from_template(
        key=WELCOME,
        to=contact.email,
        contact=contact,
        location=location,
        context={
            "first_name": contact.first_name,
            "customer_name": booking.customer.name,
            "location_name": location.name,
            "location_address": location.address,
            "units": ", ".join(units),
            "starts_on": formats.date_format(booking.starts_on, "DATE_FORMAT"),
            "opening_hours": opening_hours_text(location),
            "valid_for": lifetime_label(lifetime),
            "login_url": settings.PUBLIC_BASE_URL + portal_login_path(location),
        },
        secrets={"pin": pin, "link": settings.PUBLIC_BASE_URL + reverse("sign_in:link", args=[token])},
    )


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
        "move_out_day": local_day(move_out_day),
        **context,
    }
    _to_portal_people(key=key, booking=booking, context=shared)


def _to_portal_people(*, key: str, booking: Booking, context: dict[str, str]) -> None:
    """One email of the catalogue to each of the tenant's portal people."""
    shared = {"location_name": booking.location.name, **context}
    emails_queue_from_template(
        key=key,
        recipients=[
            Recipient(
                to=contact.email or "", contact=contact, context={**shared, "first_name": contact.first_name}
            )
            for contact in booking.customer.portal_people()
        ],
        location=booking.location,
    )


# Transfer: sent when staff move a booking from one unit to another (today or from a later day), and
# when they cancel a transfer scheduled for a later day, so the tenant knows which door opens.

TRANSFER = "unit_transfer"
TRANSFER_CANCELLED = "unit_transfer_cancelled"

_TRANSFER_SAMPLE = {
    "site_name": "Keyport",
    "first_name": "Mara",
    "location_name": "Lager Kreuzberg",
    "from_unit": "Storage unit A010",
    "to_unit": "Storage unit B020",
    "transfer_day": "Sat 12 Dec 2026",
}

register_default_template(
    DefaultTemplate(
        key=TRANSFER,
        name="Unit transfer",
        description=(
            "Sent to the tenant's portal people when staff transfer their booking to another unit "
            "(Transfer on the booking's page), today or from a later day."
        ),
        subject="Your unit at {{ location_name }}: {{ to_unit }} instead of {{ from_unit }}",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "from {{ transfer_day }} your rental at {{ location_name }} is {{ to_unit }} instead of "
            "{{ from_unit }}.\n"
            "{{ access_moves }}\n"
            "Access you shared with guests for {{ from_unit }} moves to {{ to_unit }} as well.\n\n"
            "If this is not what you agreed, please contact us.\n"
        ),
        sample={
            **_TRANSFER_SAMPLE,
            "access_moves": (
                "Your PIN and the portal's Open buttons open Storage unit B020 from the start of that "
                "day (Europe/Berlin time), and Storage unit A010 until then."
            ),
        },
    )
)

register_default_template(
    DefaultTemplate(
        key=TRANSFER_CANCELLED,
        name="Unit transfer cancelled",
        description=(
            "Sent to the tenant's portal people when staff cancel a transfer scheduled for a later "
            "day: they keep their unit."
        ),
        subject="You keep {{ from_unit }} at {{ location_name }}",
        body_text=(
            "Hello {{ first_name }},\n\n"
            "the transfer from {{ from_unit }} to {{ to_unit }} on {{ transfer_day }} is cancelled: you keep "
            "{{ from_unit }}, and your PIN and the portal's Open buttons keep opening it.\n\n"
            "If this is not what you agreed, please contact us.\n"
        ),
        sample=_TRANSFER_SAMPLE,
    )
)


def transfer_email(*, booking: Booking, from_unit: Unit, to_unit: Unit, on: dt.date, today: dt.date) -> None:
    """To the tenant's portal people: which unit their rental is from when, and their doors with it."""
    if on == today:
        access_moves = (
            f"Your PIN and the portal's Open buttons open {to_unit} now, and {from_unit} no longer."
        )
    else:
        access_moves = (
            f"Your PIN and the portal's Open buttons open {to_unit} from the start of that day "
            f"({booking.location.time_zone} time), and {from_unit} until then."
        )
    _to_portal_people(
        key=TRANSFER,
        booking=booking,
        context={
            "from_unit": str(from_unit),
            "to_unit": str(to_unit),
            "transfer_day": "today" if on == today else local_day(on),
            "access_moves": access_moves,
        },
    )


def transfer_cancelled_email(*, booking: Booking, from_unit: Unit, to_unit: Unit, was: dt.date) -> None:
    """To the tenant's portal people: the transfer on `was` will not happen."""
    _to_portal_people(
        key=TRANSFER_CANCELLED,
        booking=booking,
        context={"from_unit": str(from_unit), "to_unit": str(to_unit), "transfer_day": local_day(was)},
    )

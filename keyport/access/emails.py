"""The access engine's emails: "Shared Access" to a guest, "Access revoked" / "Access restored".

Each is operator-editable (Emails in the dashboard); the defaults ship here and are registered
with the emails app when the access app loads.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import ngettext

from keyport.access.models import BookingAccess
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.models import EmailTemplate
from keyport.emails.services import Recipient, email_queue_from_template, emails_queue_from_template
from keyport.lib.times import local_day
from keyport.staff.queries import staff_to_alert_at

if TYPE_CHECKING:
    from keyport.access.models import SharedAccess
    from keyport.bookings.models import Booking
    from keyport.facilities.models import AccessPoint, Location

SHARED_ACCESS = "shared_access"
ACCESS_REVOKED = "access_revoked"
ACCESS_RESTORED = "access_restored"
KEYPAD_BLOCKED = "keypad_blocked"

_SAMPLE = {
    "site_name": "Keyport",
    "tenant_name": "Mara Schneider",
    "units": "Storage unit A010",
    "location_name": "Lager Kreuzberg",
    "location_address": "Hauptstraße 1, 10115 Berlin, DE",
    "window": "from Mon 2 Mar 2026 to the end of Mon 9 Mar 2026 (Europe/Berlin time)",
    "how_to_enter": "Open the doors with the Open buttons on your key page, or type your PIN at the keypad.",
}

register_default_template(
    DefaultTemplate(
        key=SHARED_ACCESS,
        name="Shared Access",
        description="Sent to each guest a tenant shares access with (Manage Access in the portal).",
        subject="{{ tenant_name }} shared access to {{ units }} at {{ location_name }}",
        body_text=(
            "Hello,\n\n"
            "{{ tenant_name }} shared access to {{ units }} at {{ location_name }} with you.\n"
            "Address: {{ location_address }}\n"
            "When: {{ window }}\n\n"
            "How to get in: {{ how_to_enter }}\n\n"
            "Your personal key (do not forward it):\n{{ key_link }}\n\n"
            "The key works only inside this window.\n"
        ),
        sample={**_SAMPLE, "key_link": "https://portal.example.com/key/EXAMPLE-KEY/"},
        required=("key_link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=ACCESS_REVOKED,
        name="Access revoked",
        description=(
            "Sent to the tenant's people and guests when the operator revokes a booking's access "
            "or sets the customer Inactive."
        ),
        subject="Your access to {{ units }} at {{ location_name }} was revoked",
        body_text=(
            "Hello,\n\n"
            "access to {{ units }} at {{ location_name }} was revoked by the facility.\n"
            "Reason: {{ reason }}\n\n"
            "Questions? Please contact the facility.\n"
        ),
        sample={**_SAMPLE, "reason": "Payment overdue"},
    )
)
register_default_template(
    DefaultTemplate(
        key=ACCESS_RESTORED,
        name="Access restored",
        description=(
            "Sent when the operator restores a booking's access, or sets an Inactive customer Active again."
        ),
        subject="Your access to {{ units }} at {{ location_name }} is back",
        body_text=(
            "Hello,\n\naccess to {{ units }} at {{ location_name }} was restored.\nWhen: {{ window }}\n"
        ),
        sample=_SAMPLE,
    )
)

register_default_template(
    DefaultTemplate(
        key=KEYPAD_BLOCKED,
        name="Keypad blocked",
        description="Sent to a location's managers (or the owners) when wrong PINs block a keypad.",
        subject=(
            "{{ access_point_name }} at {{ location_name }}: keypad blocked after {{ wrong_pins }} wrong PINs"
        ),
        body_text=(
            "Hello,\n\n"
            "{{ wrong_pins }} wrong PINs were typed at {{ access_point_name }} ({{ location_name }}) "
            "{{ in_minutes }}. Its keypad takes no PIN until {{ blocked_until }} ({{ time_zone }} time), "
            "not even a right one.\n\n"
            "Tenants and guests can still open it with the Open button in the customer portal or on "
            "their key page.\n\n"
            "If this was no attack (someone who forgot their PIN), lift the block on the location's page:\n"
            "{{ location_link }}\n"
        ),
        sample={
            **_SAMPLE,
            "access_point_name": "Main gate",
            "wrong_pins": "10",
            "in_minutes": "in 1 minute",
            "blocked_until": "14:05",
            "time_zone": "Europe/Berlin",
            "location_link": "https://keyport.example.com/dashboard/locations/1/",
        },
    )
)

# Why the booking was revoked (an unpaid invoice, lost keys) is the tenant's business, not their guests'.
GUEST_REVOKED_REASON = (
    "The facility paused the access of the person who shared it with you; they can tell you more."
)


def local_window(location: Location, starts_on: dt.date, ends_on: dt.date | None) -> str:
    """A window of whole local days in the words every page and email uses: the last day included."""
    if ends_on is None:
        return f"from {local_day(starts_on)}, open-ended ({location.time_zone} time)"
    return f"from {local_day(starts_on)} to the end of {local_day(ends_on)} ({location.time_zone} time)"


def _base(booking: Booking, unit_names: Sequence[str]) -> dict[str, str]:
    location = booking.location
    return {
        "tenant_name": booking.customer.name,
        "units": ", ".join(unit_names),
        "location_name": location.name,
        "location_address": location.address,
        "how_to_enter": (
            "Open the doors with the Open buttons on your key page, or type your PIN at the keypad."
        ),
    }


def shared_access_email(*, share: SharedAccess, key: str) -> None:
    booking = share.booking
    units = sorted(str(u) for u in share.units.all())
    link = settings.PUBLIC_BASE_URL + reverse("guest:key", args=[key])
    email_queue_from_template(
        key=SHARED_ACCESS,
        to=share.holder.email,
        contact=None,
        location=booking.location,
        context={
            **_base(booking, units),
            "window": local_window(booking.location, share.starts_on, share.ends_on),
        },
        secrets={"key_link": link},
    )


def access_changed_emails(
    *, booking: Booking, shares: Sequence[SharedAccess], revoked: bool, reason: str | None = None
) -> None:
    """The tenant's portal people and the affected guests learn that access was revoked or restored.

    `reason` is what the tenant's people read; without it, the one the operator gave with Revoke access.
    """
    units = sorted(str(u) for u in booking.units.all())
    if revoked and reason is None:
        reason = BookingAccess.objects.get(booking=booking).revoked_reason
    context = {
        **_base(booking, units),
        "window": local_window(booking.location, booking.starts_on, booking.ends_on),
        "reason": reason if revoked and reason else "",
    }
    people = [
        Recipient(to=contact.email or "", contact=contact, context=context)
        for contact in booking.customer.portal_people()
    ]
    guests = [
        Recipient(
            to=share.holder.email,
            contact=None,
            context={
                **context,
                "units": ", ".join(sorted(str(u) for u in share.units.all())),
                "window": local_window(booking.location, share.starts_on, share.ends_on),
                "reason": GUEST_REVOKED_REASON if revoked else "",
            },
        )
        for share in shares
    ]
    emails_queue_from_template(
        key=ACCESS_REVOKED if revoked else ACCESS_RESTORED,
        recipients=people + guests,
        location=booking.location,
    )


def shared_access_email_reviewed() -> bool:
    """A prerequisite of Share Access: the operator has set up (saved) the "Shared Access" email."""

    return EmailTemplate.objects.filter(key=SHARED_ACCESS).exists()


def in_minutes(seconds: float) -> str:
    """How long a burst of wrong PINs took, in whole minutes (at least one)."""
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("in %(minutes)d minute", "in %(minutes)d minutes", minutes) % {"minutes": minutes}


def local_time(location: Location, instant: dt.datetime) -> str:
    """An instant as the location's clock shows it ("14:05"), with the date when it is not today."""
    local = timezone.localtime(instant, location.zone)
    shown = "H:i" if local.date() == location.local_now().date() else "j M Y H:i"
    return formats.date_format(local, shown)


def keypad_blocked_email(*, access_point: AccessPoint, location: Location, when: dt.datetime) -> None:
    """The location's managers learn that wrong PINs blocked a keypad, and how to lift the block."""
    since = access_point.wrong_pins_since or when
    until = access_point.pins_blocked_until or when
    context = {
        "access_point_name": access_point.name,
        "location_name": location.name,
        "wrong_pins": str(access_point.wrong_pins),
        "in_minutes": in_minutes((when - since).total_seconds()),
        "blocked_until": local_time(location, until),
        "time_zone": location.time_zone,
        "location_link": settings.PUBLIC_BASE_URL + reverse("dashboard:location_detail", args=[location.pk]),
    }
    recipients = [
        Recipient(to=staff.email, contact=None, context=context) for staff in staff_to_alert_at(location)
    ]
    if recipients:
        emails_queue_from_template(key=KEYPAD_BLOCKED, recipients=recipients, location=location)

"""Door decisions in words a tenant or guest can act on: `{{ event.reason|access_reason }}`."""

from django import template
from django.utils.translation import gettext_lazy, ngettext

register = template.Library()

TOO_MANY_WRONG_PINS = "Too many wrong PINs at this door. Try again in a while."
KEYPAD_BLOCKED = gettext_lazy(
    "Too many wrong PINs at this door: its keypad takes no PIN for a while. "
    "The Open button in the portal, or on your key page, still opens it."
)

REASON_WORDS = {
    "ok": "Opened.",
    "unknown_pin": "PIN not recognised. Check it and try again.",
    "outside_window": "Your access is not valid at this time. Check its start and end dates.",
    "revoked": "This access has been withdrawn. Contact the facility if you still need it.",
    "not_mapped": "This door is not part of your access.",
    "location_closed": "The site is closed at this hour. Try again during opening hours.",
    "slow_down": TOO_MANY_WRONG_PINS,
    "blocked": KEYPAD_BLOCKED,
}

UNKNOWN_REASON_WORDS = "The door did not open."


def reason_in_words(reason: str) -> str:
    """The sentence for a decision's reason code (keyport.api.openapi.REASONS)."""
    return str(REASON_WORDS.get(reason, UNKNOWN_REASON_WORDS))


def keypad_blocked_words(retry_after: int | None) -> str:
    """What a keypad shows while it takes no PIN: how long, and the way in that still works."""
    minutes = max(1, round((retry_after or 0) / 60))
    return ngettext(
        "Too many wrong PINs at this door: its keypad takes no PIN for %(minutes)d more minute. "
        "The Open button in the portal, or on your key page, still opens it.",
        "Too many wrong PINs at this door: its keypad takes no PIN for %(minutes)d more minutes. "
        "The Open button in the portal, or on your key page, still opens it.",
        minutes,
    ) % {"minutes": minutes}


@register.filter
def access_reason(reason: str) -> str:
    return reason_in_words(reason)

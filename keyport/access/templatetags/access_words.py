"""Door decisions in words a tenant or guest can act on: `{{ event.reason|access_reason }}`."""

from django import template

register = template.Library()

TOO_MANY_WRONG_PINS = "Too many wrong PINs at this door. Try again in a while."

REASON_WORDS = {
    "ok": "Opened.",
    "unknown_pin": "PIN not recognised. Check it and try again.",
    "outside_window": "Your access is not valid at this time. Check its start and end dates.",
    "revoked": "This access has been withdrawn. Contact the facility if you still need it.",
    "not_mapped": "This door is not part of your access.",
    "location_closed": "The site is closed at this hour. Try again during opening hours.",
    "slow_down": TOO_MANY_WRONG_PINS,
    "blocked": TOO_MANY_WRONG_PINS,
}

UNKNOWN_REASON_WORDS = "The door did not open."


def reason_in_words(reason: str) -> str:
    """The sentence for a decision's reason code (keyport.api.openapi.REASONS)."""
    return REASON_WORDS.get(reason, UNKNOWN_REASON_WORDS)


@register.filter
def access_reason(reason: str) -> str:
    return reason_in_words(reason)

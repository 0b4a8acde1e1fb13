import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

# The longest address mail can carry (RFC 5321's path limit) and the length of every email column.
EMAIL_MAX_LENGTH = 254


def normalize_email_address(email: str) -> str:
    """One spelling per address: trimmed and lower-cased, so lookups and uniqueness agree."""
    return email.strip().lower()


def validate_email_address(email: str) -> None:
    """A valid address that fits its column; Django's own check lets longer ones through."""
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(
            _("An email address has at most %(limit)d characters."),
            code="max_length",
            params={"limit": EMAIL_MAX_LENGTH},
        )
    validate_email(email)


def email_addresses_parse(raw: str) -> list[str]:
    """Addresses separated by commas, semicolons or new lines, each normalized and validated, in
    their order with duplicates merged. Raises one ValidationError naming every part that is no
    address, or saying there is none."""
    addresses: dict[str, None] = {}
    bad = []
    for part in re.split(r"[,;\n]", raw):
        address = normalize_email_address(part)
        if not address:
            continue
        try:
            validate_email_address(address)
        except ValidationError:
            bad.append(part.strip())
            continue
        addresses[address] = None
    if bad:
        raise ValidationError(
            _("Not a valid email address: %(addresses)s."),
            code="invalid",
            params={"addresses": ", ".join(bad)},
        )
    if not addresses:
        raise ValidationError(_("Enter at least one email address."), code="required")
    return list(addresses)

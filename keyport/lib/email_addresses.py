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

"""The form fields every form uses for dates, times, emails and ids.

What a person types stays inside what the calendar, the columns and a location's time zone hold;
anything else is an error beside its field, never a server error. Without these, 9999-12-31 in a
zone west of UTC is year 10000 in UTC, which Python cannot hold (SQLite fails while saving) and
PostgreSQL stores but cannot give back (every page listing it fails); a share ending 9999-12-31 has
no day after its end; an address longer than its column is refused by PostgreSQL; an id past
64 bits overflows SQLite.
"""

import datetime as dt
import re
from typing import Any, TypeVar

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from keyport.lib.email_addresses import EMAIL_MAX_LENGTH

# Dates people enter: nothing the product does reaches before this or further ahead than this.
EARLIEST_DATE = dt.date(2000, 1, 1)
YEARS_AHEAD = 10
# The largest id a 64-bit integer column holds (SQLite's INTEGER, PostgreSQL's bigint).
ID_MAX = 2**63 - 1
# Instants that every time zone can still show: a local time of a later one may be in year 10000.
LAST_READABLE_INSTANT = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)

_M = TypeVar("_M", bound=Model)


def latest_date() -> dt.date:
    """The last date a person may enter: ten years from today (28 February for a 29th)."""
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def validate_date_in_range(value: dt.date) -> None:
    """Refuse a date (or the day of a datetime) before 2000 or more than ten years from today."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < EARLIEST_DATE:
        raise ValidationError(
            _("Choose a date on or after %(earliest)s."),
            code="too_early",
            params={"earliest": formats.date_format(EARLIEST_DATE, "DATE_FORMAT")},
        )
    latest = latest_date()
    if day > latest:
        raise ValidationError(
            _("Choose a date on or before %(latest)s (ten years from today)."),
            code="too_late",
            params={"latest": formats.date_format(latest, "DATE_FORMAT")},
        )


class DateField(forms.DateField):
    default_validators = [validate_date_in_range]


class DateTimeField(forms.DateTimeField):
    default_validators = [validate_date_in_range]


class EmailField(forms.EmailField):
    """An email address no longer than the columns that store it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=EMAIL_MAX_LENGTH, **kwargs)


# A phone number as people write it: digits, spaces and + ( ) - / . , with 5 to 15 digits (E.164's most).
_PHONE_CHARACTERS = re.compile(r"[0-9 +()\-/.]+")


def validate_phone(value: str) -> None:
    digits = sum(character.isdigit() for character in value)
    if not _PHONE_CHARACTERS.fullmatch(value) or not 5 <= digits <= 15:
        raise ValidationError(
            _("Enter a phone number: digits, spaces and + ( ) - / only, 5 to 15 digits."), code="invalid"
        )


class PhoneField(forms.CharField):
    """An optional phone number, as people write it."""

    default_validators = [validate_phone]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(max_length=32, **kwargs)


def id_from(value: object) -> int | None:
    """The id a choice names: a whole number from 1 to ID_MAX in ASCII digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        # Checked before int(): it would read other scripts' digits, and refuse 4,300 of them loudly.
        if not (text.isascii() and text.isdigit() and len(text) <= len(str(ID_MAX))):
            return None
        number = int(text)
    else:
        return None
    return number if 1 <= number <= ID_MAX else None


class ModelChoiceField(forms.ModelChoiceField[_M]):
    """A choice of an object by id; an id that cannot be one is an invalid choice like any other."""

    def to_python(self, value: Any) -> Any:
        named_by_id = self.to_field_name is None and not isinstance(value, Model)
        if named_by_id and value not in self.empty_values and id_from(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField[_M]):
    """Choices of objects by id; an id that cannot be one is an invalid choice like any other."""

    def clean(self, value: Any) -> Any:
        if self.to_field_name is None and isinstance(value, list | tuple):
            for choice in value:
                if not isinstance(choice, Model) and id_from(choice) is None:
                    raise ValidationError(
                        self.error_messages["invalid_choice"], code="invalid_choice", params={"value": choice}
                    )
        return super().clean(value)

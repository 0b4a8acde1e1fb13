"""Billing periods of a booking and the rent each owes: pure functions of dates, no database.

A period is monthly, anchored at the move-in day (15 Mar – 14 Apr) or at the first of the month
(1 Mar – 31 Mar). A booking's first and last periods are cut to its own days and prorated by day:
the rent times the days billed over the days of the whole period. Days are the location's calendar
days, so a daylight-saving change (a day of 23 or 25 hours) changes nothing.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import models

CENT = Decimal("0.01")
ONE_DAY = dt.timedelta(days=1)


class BillingAnchor(models.TextChoices):
    MOVE_IN = "move_in", "The move-in day"
    FIRST_OF_MONTH = "first_of_month", "The first of the month"


def add_months(day: dt.date, months: int, anchor_day: int) -> dt.date:
    """The `anchor_day` of the month `months` after `day`'s, or that month's last day when it is
    shorter (a period anchored on the 31st starts on 28 or 29 February, then on 31 March)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(anchor_day, last))


@dataclass(frozen=True)
class Period:
    """The days billed (`starts_on` to `ends_on`, both included) within a whole monthly period
    (`full_starts_on` to `full_ends_on`)."""

    starts_on: dt.date
    ends_on: dt.date
    full_starts_on: dt.date
    full_ends_on: dt.date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    @property
    def full_days(self) -> int:
        return (self.full_ends_on - self.full_starts_on).days + 1

    @property
    def is_partial(self) -> bool:
        return self.days != self.full_days

    def days_of(self, starts_on: dt.date, ends_on: dt.date | None) -> int:
        """How many of this period's days fall between those two days (both included)."""
        first = max(self.starts_on, starts_on)
        last = self.ends_on if ends_on is None else min(self.ends_on, ends_on)
        return max(0, (last - first).days + 1)


def full_period_containing(
    day: dt.date, *, anchor: BillingAnchor, booking_starts_on: dt.date
) -> tuple[dt.date, dt.date]:
    """The whole monthly period `day` falls in: its first and last day."""
    if anchor == BillingAnchor.FIRST_OF_MONTH:
        start = day.replace(day=1)
        return start, add_months(start, 1, 1) - ONE_DAY
    anchor_day = booking_starts_on.day
    months = (day.year - booking_starts_on.year) * 12 + day.month - booking_starts_on.month
    start = add_months(booking_starts_on, months, anchor_day)
    if start > day:
        months -= 1
        start = add_months(booking_starts_on, months, anchor_day)
    return start, add_months(booking_starts_on, months + 1, anchor_day) - ONE_DAY


def period_containing(
    day: dt.date, *, anchor: BillingAnchor, booking_starts_on: dt.date, booking_ends_on: dt.date | None
) -> Period | None:
    """The booking's period that `day` falls in, cut to the booking's days; None outside them."""
    if day < booking_starts_on or (booking_ends_on is not None and day > booking_ends_on):
        return None
    full_start, full_end = full_period_containing(day, anchor=anchor, booking_starts_on=booking_starts_on)
    end = full_end if booking_ends_on is None else min(full_end, booking_ends_on)
    return Period(max(full_start, booking_starts_on), end, full_start, full_end)


def next_period(
    *,
    anchor: BillingAnchor,
    booking_starts_on: dt.date,
    booking_ends_on: dt.date | None,
    after: dt.date | None,
) -> Period | None:
    """The period after the one that starts on `after` (the first period when None); None when the
    booking ends before it."""
    if after is None:
        day = booking_starts_on
    else:
        _, full_end = full_period_containing(after, anchor=anchor, booking_starts_on=booking_starts_on)
        day = full_end + ONE_DAY
    return period_containing(
        day, anchor=anchor, booking_starts_on=booking_starts_on, booking_ends_on=booking_ends_on
    )


def prorated(monthly_rent: Decimal, days: int, full_days: int) -> Decimal:
    """The rent for `days` of a period of `full_days`, to the cent (half up)."""
    if days >= full_days:
        return monthly_rent.quantize(CENT, rounding=ROUND_HALF_UP)
    return (monthly_rent * days / full_days).quantize(CENT, rounding=ROUND_HALF_UP)

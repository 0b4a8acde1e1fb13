from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from keyport.facilities.models import Unit


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"


class BookingPhase(models.TextChoices):
    RESERVED = "reserved", "Reserved"
    CURRENT = "current", "Current"
    ENDING_SOON = "ending_soon", "Ending soon"
    ENDED = "ended", "Ended"
    CANCELLED = "cancelled", "Cancelled"


# A current booking is Ending soon when its last day is at most this many days from today.
ENDING_SOON_DAYS = 14


class Booking(models.Model):
    """A customer's rental of one or more units of one location, from a start date to an end date.

    Dates are the location's calendar days, both inclusive; no end date means open-ended.
    """

    customer = models.ForeignKey("contacts.Customer", on_delete=models.PROTECT, related_name="bookings")
    location = models.ForeignKey("facilities.Location", on_delete=models.PROTECT, related_name="bookings")
    units: models.ManyToManyField[Unit, BookingUnit] = models.ManyToManyField(
        "facilities.Unit", through="BookingUnit", related_name="bookings"
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True, help_text="Leave empty for open-ended.")
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED)
    # Set when access ended before the end of the last day: a move-out with access ending now.
    ended_at = models.DateTimeField(null=True, blank=True)
    deposit = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="booking_ends_after_it_starts",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "starts_on"]),
            # Rentals: a location's bookings, newest move-in first, paged by keyset.
            models.Index(fields=["location", "starts_on", "id"], name="booking_location_starts"),
            # The Overview's and Rentals' move-outs today.
            models.Index(fields=["location", "ends_on"], name="booking_location_ends"),
        ]

    def __str__(self) -> str:
        return f"Booking #{self.pk}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED

    def starts_at(self) -> dt.datetime:
        return self.location.start_of_day(self.starts_on)

    def ends_at(self) -> dt.datetime | None:
        """The instant the booking ends: the start of the day after its last day, local time,
        or the moment of a move-out that ended access at once."""
        if self.ended_at is not None:
            return self.ended_at
        if self.ends_on is None:
            return None
        return self.location.start_of_day(self.ends_on + dt.timedelta(days=1))

    def is_over_at(self, when: dt.datetime) -> bool:
        """Cancelled, or ended by then; a booking not over is current or upcoming."""
        ends_at = self.ends_at()
        return self.is_cancelled or (ends_at is not None and ends_at <= when)

    def may_get_in_now_or_later(self) -> bool:
        """Whether the booking's people can get in at all, now or later (what its emails may speak
        of): an active account and a booking not over. Revoked access is asked apart."""
        return self.customer.is_active and not self.is_over_at(timezone.now())

    def access_is_revoked(self) -> bool:
        """Whether staff's Revoke access or billing's overdue lockout holds the booking's access,
        read from the database now."""
        return type(self).objects.filter(pk=self.pk, access__revoked_at__isnull=False).exists()

    def is_active_at(self, when: dt.datetime) -> bool:
        if self.is_cancelled or when < self.starts_at():
            return False
        ends_at = self.ends_at()
        return ends_at is None or when < ends_at

    def covers_dates(self, first: dt.date, last: dt.date) -> bool:
        return self.starts_on <= first and (self.ends_on is None or last <= self.ends_on)

    def phase_label(self, today: dt.date) -> str:
        """Reserved, Current, Ending soon (move-out within ENDING_SOON_DAYS), Ended or Cancelled."""
        if self.is_cancelled:
            return BookingPhase.CANCELLED.label
        if today < self.starts_on:
            return BookingPhase.RESERVED.label
        if self.ends_on is not None and today > self.ends_on:
            return BookingPhase.ENDED.label
        if self.ended_at is not None and self.ended_at <= timezone.now():
            return BookingPhase.ENDED.label
        if self.ends_on is not None and (self.ends_on - today).days <= ENDING_SOON_DAYS:
            return BookingPhase.ENDING_SOON.label
        return BookingPhase.CURRENT.label


def booked_between(starts_on: dt.date, ends_on: dt.date | None) -> Q:
    """Booking units (not cancelled) on any day from `starts_on` to `ends_on` (None: open-ended)."""
    overlaps = Q(is_cancelled=False) & (Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
    return overlaps if ends_on is None else overlaps & Q(starts_on__lte=ends_on)


class BookingUnit(models.Model):
    """One unit of a booking.

    The booking's dates and whether it is cancelled are copied here so that
    PostgreSQL can refuse overlapping bookings of a unit with an exclusion
    constraint (which cannot reach across a join). Only the booking services
    write these rows, and they keep the copy in step, with three exceptions: a unit
    a transfer brought in is held from the day of the transfer; a unit a transfer on a
    later day takes away (`transfer_to` names the row of the unit it goes to) is held
    until the day before that row's first day; and after a move-out with access ending
    now a row holds its unit until the day before (a row of a unit moved in that same
    day is marked cancelled: it holds its unit on no day).
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="booking_units")
    unit = models.ForeignKey("facilities.Unit", on_delete=models.PROTECT, related_name="booking_units")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    is_cancelled = models.BooleanField(default=False)
    monthly_rent = models.DecimalField(
        "monthly rent",
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    transfer_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="transfer_from"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["booking", "unit"], name="booking_unit_unique"),
        ]
        indexes = [models.Index(fields=["unit", "starts_on"])]

    def __str__(self) -> str:
        return f"{self.booking} · {self.unit}"

    def holds_unit_as_of(self, day: dt.date) -> bool:
        """Whether this is one of the booking's units as of that day: not handed over by a
        transfer on that day or before, nor brought in by a transfer on a later day."""
        if self.transfer_to is not None and self.transfer_to.starts_on <= day:
            return False
        return not (self.starts_on > day and self.starts_on > self.booking.starts_on)

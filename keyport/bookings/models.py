from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q
from django.utils import timezone

if TYPE_CHECKING:
    from keyport.facilities.models import Unit


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"


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
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="booking_ends_after_it_starts",
            ),
        ]
        indexes = [models.Index(fields=["customer", "starts_on"])]

    def __str__(self) -> str:
        return f"Booking #{self.pk}"

    @property
    def is_cancelled(self) -> bool:
        return self.status == BookingStatus.CANCELLED

    def starts_at(self) -> dt.datetime:
        return self.location.start_of_day(self.starts_on)

    def ends_at(self) -> dt.datetime | None:
        """The instant the booking ends: the start of the day after its last day, local time."""
        if self.ends_on is None:
            return None
        return self.location.start_of_day(self.ends_on + dt.timedelta(days=1))

    def is_active_at(self, when: dt.datetime) -> bool:
        if self.is_cancelled or when < self.starts_at():
            return False
        ends_at = self.ends_at()
        return ends_at is None or when < ends_at

    def covers_dates(self, first: dt.date, last: dt.date) -> bool:
        return self.starts_on <= first and (self.ends_on is None or last <= self.ends_on)

    def phase_label(self, today: dt.date) -> str:
        if self.is_cancelled:
            return "Cancelled"
        if today < self.starts_on:
            return "Upcoming"
        if self.ends_on is not None and today > self.ends_on:
            return "Ended"
        return "Current"


class BookingUnit(models.Model):
    """One unit of a booking.

    The booking's dates and whether it is cancelled are copied here so that
    PostgreSQL can refuse overlapping bookings of a unit with an exclusion
    constraint (which cannot reach across a join). Only the booking services
    write these rows, and they keep the copy in step.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="booking_units")
    unit = models.ForeignKey("facilities.Unit", on_delete=models.PROTECT, related_name="booking_units")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    is_cancelled = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["booking", "unit"], name="booking_unit_unique"),
        ]
        indexes = [models.Index(fields=["unit", "starts_on"])]

    def __str__(self) -> str:
        return f"{self.booking} · {self.unit}"

"""The rules of a booking's dates and units: no unit booked twice at once, rents never below zero,
an end never before a start. The front desk's workflows (`keyport.frontdesk.services`) apply them
together with the doors."""

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking, BookingUnit, booked_between
from keyport.facilities.models import Unit, UnitStatus
from keyport.lib.times import local_day

OVERLAP_MESSAGE = "Already booked for these dates: {units}."


def booking_audit(
    *, actor: Actor, action: str, booking: Booking, details: dict[str, object] | None = None
) -> None:
    """Audit what happened to a booking, under its location and customer."""
    audit_record(
        actor=actor,
        action=action,
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details=details,
    )


def units_clashing(
    units: Sequence[Unit], starts_on: dt.date, ends_on: dt.date | None, *, exclude: Booking | None = None
) -> list[str]:
    """The numbers of these units that a booking (other than `exclude`) holds on a day of the stay."""
    clashes = BookingUnit.objects.filter(booked_between(starts_on, ends_on), unit__in=units)
    if exclude is not None:
        clashes = clashes.exclude(booking=exclude)
    return sorted(set(clashes.values_list("unit__number", flat=True)))


def monthly_rents_for(units: Sequence[Unit], given: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """Each unit's monthly rent by id: the one given, else its unit type's price; never below zero."""
    rents = {unit.pk: given.get(unit.pk, unit.monthly_price or Decimal("0")) for unit in units}
    below_zero = sorted(unit.number for unit in units if rents[unit.pk] < 0)
    if below_zero:
        raise ValidationError({"monthly_rents": f"A rent cannot be below zero: {', '.join(below_zero)}."})
    return rents


def booking_dates_check(starts_on: dt.date, ends_on: dt.date | None) -> None:
    """A stay ends on or after the day it starts (no end: open-ended)."""
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": "The end date cannot be before the start date."})


def iso_day(day: dt.date | None) -> str | None:
    """A day as an audit entry records it."""
    return day.isoformat() if day else None


def booking_end_date_move(booking: Booking, ends_on: dt.date | None) -> dt.date | None:
    """Give the locked booking and its units this last day; return the one it had.

    A unit moved in later than the booking (a transfer) is checked for clashes from its own first day;
    one a transfer on a later day takes away keeps its last day.
    """
    booking_dates_check(booking.starts_on, ends_on)
    # Lock the units so that a booking of them cannot pass its check meanwhile.
    list(Unit.objects.select_for_update().filter(booking_units__booking=booking))
    booked = list(booking.booking_units.select_related("unit"))
    if ends_on is not None:
        moved_in_later = [row for row in booked if row.starts_on > ends_on]
        if moved_in_later:
            row = moved_in_later[0]
            moved_in = local_day(row.starts_on)
            raise ValidationError(
                {"ends_on": f"The booking holds unit {row.unit.number} from {moved_in}: end on or after it."}
            )
    following = [row for row in booked if row.transfer_to_id is None]
    clashes = sorted(
        {
            number
            for row in following
            for number in units_clashing([row.unit], row.starts_on, ends_on, exclude=booking)
        }
    )
    if clashes:
        raise ValidationError({"ends_on": OVERLAP_MESSAGE.format(units=", ".join(clashes))})
    previous = booking.ends_on
    booking.ends_on = ends_on
    booking.save(update_fields=["ends_on"])
    booking.booking_units.filter(transfer_to__isnull=True).update(ends_on=ends_on)
    return previous


def booking_refuse_unless_open(booking: Booking) -> None:
    """Refuse to end a booking that is cancelled or has ended already."""
    if booking.is_cancelled:
        raise ValidationError("This booking is cancelled.")
    ends_at = booking.ends_at()
    if ends_at is not None and ends_at <= timezone.now():
        raise ValidationError("This booking has ended already.")


def booking_units_free_from(booking: Booking, today: dt.date) -> None:
    """Access ended now: the units are free for another booking from today on. A unit held since
    before today is held until yesterday; one moved in today was held for no whole day, and its
    row holds it no more (as a cancelled booking's rows do)."""
    booking.booking_units.filter(starts_on__lt=today).update(ends_on=today - dt.timedelta(days=1))
    booking.booking_units.filter(starts_on__gte=today).update(is_cancelled=True)


def booking_unit_save_holding(row: BookingUnit, update_fields: list[str] | None = None) -> None:
    """Save the row of the unit a transfer brings in."""
    try:
        with transaction.atomic():
            row.save(update_fields=update_fields)
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a booking of the unit that committed meanwhile.
        raise ValidationError({"to_unit": OVERLAP_MESSAGE.format(units=row.unit.number)}) from None


def transfer_from_check(row: BookingUnit, today: dt.date) -> None:
    """The booking must hold the unit today, with no transfer of it scheduled already."""
    if row.transfer_to is not None:
        to = row.transfer_to
        if to.starts_on <= today:
            raise ValidationError(
                {"from_unit": f"Unit {row.unit.number} was transferred to {to.unit.number}."}
            )
        raise ValidationError(
            {
                "from_unit": f"Unit {row.unit.number} transfers to {to.unit.number} on "
                f"{local_day(to.starts_on)}: cancel that transfer first."
            }
        )
    if row.starts_on > today:
        raise ValidationError(
            {"from_unit": f"The booking holds unit {row.unit.number} from {local_day(row.starts_on)} only."}
        )


def transfer_to_check(booking: Booking, unit: Unit, on: dt.date, today: dt.date) -> None:
    if unit.location_id != booking.location_id:
        raise ValidationError({"to_unit": "This unit is at another location."})
    if booking.booking_units.filter(unit=unit).exists():
        raise ValidationError({"to_unit": "The booking has this unit already: choose another one."})
    if unit.status != UnitStatus.AVAILABLE:
        raise ValidationError({"to_unit": f"Unit {unit.number} is {unit.get_status_display()}."})
    if units_clashing([unit], on, booking.ends_on):
        since = "today" if on == today else local_day(on)
        raise ValidationError(
            {"to_unit": f"Unit {unit.number} is not free from {since} to the booking's end."}
        )

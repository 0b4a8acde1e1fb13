import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from keyport.access.services import grants_sync_for_booking
from keyport.audit.services import Actor, audit_record
from keyport.bookings.models import Booking, BookingStatus, BookingUnit
from keyport.contacts.models import Customer
from keyport.facilities.models import Unit, UnitStatus

OVERLAP_MESSAGE = "Already booked for these dates: {units}."


def _overlapping(
    units: Sequence[Unit], starts_on: dt.date, ends_on: dt.date | None, *, exclude: Booking | None = None
) -> list[str]:
    clashes = BookingUnit.objects.filter(unit__in=units, is_cancelled=False).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on)
    )
    if ends_on is not None:
        clashes = clashes.filter(starts_on__lte=ends_on)
    if exclude is not None:
        clashes = clashes.exclude(booking=exclude)
    return sorted(set(clashes.values_list("unit__number", flat=True)))


def _monthly_rents(units: Sequence[Unit], given: Mapping[int, Decimal]) -> dict[int, Decimal]:
    rents = {unit.pk: given.get(unit.pk, unit.monthly_price or Decimal("0")) for unit in units}
    below_zero = sorted(unit.number for unit in units if rents[unit.pk] < 0)
    if below_zero:
        raise ValidationError({"monthly_rents": f"A rent cannot be below zero: {', '.join(below_zero)}."})
    return rents


def _validate_dates(starts_on: dt.date, ends_on: dt.date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": "The end date cannot be before the start date."})


@transaction.atomic
def booking_create(
    *,
    actor: Actor,
    customer: Customer,
    units: Sequence[Unit],
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    monthly_rents: Mapping[int, Decimal] | None = None,
    deposit: Decimal | None = None,
    note: str = "",
) -> Booking:
    """Book one or more units of one location for a customer; a unit is never booked twice at once.

    Each unit's monthly rent is the one given by unit id, else its unit type's price.
    """
    units = list(units)
    if not units:
        raise ValidationError({"units": "Choose at least one unit."})
    locations = {unit.location_id for unit in units}
    if len(locations) > 1:
        raise ValidationError({"units": "All units of a booking must be at the same location."})
    if not customer.is_active:
        raise ValidationError({"customer": "This customer is inactive; activate them before booking."})
    _validate_dates(starts_on, ends_on)
    rents = _monthly_rents(units, monthly_rents or {})
    if deposit is not None and deposit < 0:
        raise ValidationError({"deposit": "The deposit cannot be below zero."})
    # Lock the units so two bookings of the same unit cannot pass the check together.
    locked = list(Unit.objects.select_for_update().filter(pk__in=[unit.pk for unit in units]))
    unavailable = sorted(unit.number for unit in locked if unit.status != UnitStatus.AVAILABLE)
    if unavailable:
        raise ValidationError({"units": f"Not available for booking: {', '.join(unavailable)}."})
    clashes = _overlapping(locked, starts_on, ends_on)
    if clashes:
        raise ValidationError({"units": OVERLAP_MESSAGE.format(units=", ".join(clashes))})
    booking = Booking.objects.create(
        customer=customer,
        location_id=locations.pop(),
        starts_on=starts_on,
        ends_on=ends_on,
        deposit=deposit,
        note=note.strip(),
    )
    try:
        with transaction.atomic():
            BookingUnit.objects.bulk_create(
                [
                    BookingUnit(
                        booking=booking,
                        unit=unit,
                        starts_on=starts_on,
                        ends_on=ends_on,
                        monthly_rent=rents[unit.pk],
                    )
                    for unit in locked
                ]
            )
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a booking that committed meanwhile.
        raise ValidationError({"units": OVERLAP_MESSAGE.format(units="one of these units")}) from None
    audit_record(
        actor=actor,
        action="booking.created",
        target=booking,
        location=booking.location,
        customer=customer,
        details={
            "units": sorted(unit.number for unit in locked),
            "monthly_rents": {unit.number: str(rents[unit.pk]) for unit in locked},
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
        },
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    return booking


@transaction.atomic
def booking_set_end_date(*, actor: Actor, booking: Booking, ends_on: dt.date | None) -> Booking:
    """Move a booking's last day (move-out), or make it open-ended."""
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if booking.is_cancelled:
        raise ValidationError("A cancelled booking cannot be changed.")
    _validate_dates(booking.starts_on, ends_on)
    units = list(Unit.objects.select_for_update().filter(booking_units__booking=booking))
    clashes = _overlapping(units, booking.starts_on, ends_on, exclude=booking)
    if clashes:
        raise ValidationError({"ends_on": OVERLAP_MESSAGE.format(units=", ".join(clashes))})
    previous = booking.ends_on
    booking.ends_on = ends_on
    booking.save(update_fields=["ends_on"])
    booking.booking_units.update(ends_on=ends_on)
    audit_record(
        actor=actor,
        action="booking.end_date_set",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={
            "from": previous.isoformat() if previous else None,
            "to": ends_on.isoformat() if ends_on else None,
        },
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    return booking


@transaction.atomic
def booking_cancel(*, actor: Actor, booking: Booking, reason: str) -> Booking:
    booking = Booking.objects.select_for_update().get(pk=booking.pk)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the booking is cancelled."})
    if booking.is_cancelled:
        return booking
    booking.status = BookingStatus.CANCELLED
    booking.save(update_fields=["status"])
    booking.booking_units.update(is_cancelled=True)
    audit_record(
        actor=actor,
        action="booking.cancelled",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={"reason": reason.strip()},
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    return booking

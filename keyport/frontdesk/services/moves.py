"""Move out and Transfer: a rental's end and its change of unit, today or scheduled for a later day,
with the doors in the same transaction."""

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from keyport.access.services import (
    booking_access_end_now,
    grants_sync_for_booking,
    grants_transfer,
    grants_transfer_at,
    grants_transfer_cancel,
)
from keyport.audit.services import Actor
from keyport.billing.rent import booking_billing_end, booking_billing_resume
from keyport.bookings.emails import (
    move_out_cancelled_email,
    move_out_email,
    transfer_cancelled_email,
    transfer_email,
)
from keyport.bookings.models import Booking, BookingUnit
from keyport.bookings.queries import units_held_by
from keyport.bookings.services import (
    OVERLAP_MESSAGE,
    booking_audit,
    booking_end_date_move,
    booking_refuse_unless_open,
    booking_unit_save_holding,
    booking_units_free_from,
    iso_day,
    transfer_from_check,
    transfer_to_check,
    units_clashing,
)
from keyport.cars.models import Car
from keyport.cars.queries import cars_in_bays
from keyport.cars.services import car_leave_bay, car_move
from keyport.facilities.models import Unit
from keyport.lib.times import local_day


class CarOutcome(models.TextChoices):
    """What happens to a car still in a bay of a booking that moves out."""

    COLLECTED = "collected", "The customer takes the car away"
    STAYS = "stays", "The car stays on site: staff move it to another bay or call the customer"


def _car_task(car: Car, outcome: CarOutcome, on: dt.date) -> str:
    bay = car.bay.number if car.bay else ""
    if outcome == CarOutcome.COLLECTED:
        return f"Check that {car} has left bay {bay} by {local_day(on)}: the customer takes it away."
    return f"Move {car} out of bay {bay} by {local_day(on)}, to another bay or back to the customer."


@transaction.atomic
def booking_move_out(
    *,
    actor: Actor,
    booking: Booking,
    on: dt.date,
    access_ends_now: bool = False,
    car_outcome: CarOutcome | None = None,
) -> Booking:
    """Move out: the booking's last day is `on`, and access ends at the end of that day, or now.

    A move-out on a later day is scheduled: it can be changed or cancelled until it happens. The
    tenant's portal people get the Move-out email, which confirms when their access ends.
    A car in one of the booking's bays is in no bay from now; `car_outcome` (required then) says
    what happens to it, in a task for staff.
    """
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    booking_refuse_unless_open(booking)
    today = booking.location.local_now().date()
    if on < booking.starts_on:
        raise ValidationError(
            {"on": f"The move-out cannot be before the move-in ({local_day(booking.starts_on)})."}
        )
    if on < today:
        raise ValidationError({"on": "The move-out cannot be in the past."})
    if access_ends_now and on != today:
        raise ValidationError({"access_ends_now": "Access can end now only when the move-out is today."})
    parked = cars_in_bays(units_held_by(booking, today))
    if parked and car_outcome is None:
        bays = ", ".join(car.bay.number for car in parked if car.bay)
        raise ValidationError({"car_outcome": f"A car is still in bay {bays}: say what happens to it."})
    try:
        previous = booking_end_date_move(booking, on)
    except ValidationError as error:
        raise ValidationError({"on": error.message_dict["ends_on"]}) from None
    if access_ends_now:
        booking.ended_at = timezone.now()
        booking.save(update_fields=["ended_at"])
        booking_units_free_from(booking, today)
    booking_audit(
        actor=actor,
        action="booking.moved_out",
        booking=booking,
        details={
            "on": on.isoformat(),
            "access_ends": "now" if access_ends_now else "end of day",
            "previous_end": iso_day(previous),
        },
    )
    if car_outcome is not None:  # else no car is parked (refused above)
        for car in parked:
            car_leave_bay(actor=actor, car=car, booking=booking, task=_car_task(car, car_outcome, on))
    grants_sync_for_booking(actor=actor, booking=booking)
    if access_ends_now:
        booking_access_end_now(booking=booking)
    booking_billing_end(actor=actor, booking=booking)
    move_out_email(booking=booking)
    return booking


@transaction.atomic
def booking_move_out_cancel(*, actor: Actor, booking: Booking) -> Booking:
    """Cancel a scheduled move-out before it happens: the booking is open-ended again."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    booking_refuse_unless_open(booking)
    was = booking.ends_on
    if was is None:
        raise ValidationError("No move-out is scheduled for this booking.")
    booking_end_date_move(booking, None)
    booking_audit(
        actor=actor,
        action="booking.move_out_cancelled",
        booking=booking,
        details={"was": was.isoformat()},
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    booking_billing_resume(actor=actor, booking=booking)
    move_out_cancelled_email(booking=booking, was=was)
    return booking


@transaction.atomic
def booking_transfer(
    *,
    actor: Actor,
    booking: Booking,
    from_unit: Unit,
    to_unit: Unit,
    on: dt.date | None = None,
    monthly_rent: Decimal | None = None,
) -> Booking:
    """Move a current booking from one of its units to a free unit of its location from a day:
    today (the default) or a later day up to the booking's last one.

    Today: the booking holds the new unit from today and the old one is free again; the grants of
    the old unit, the tenant's and those of its shares, end now and the same people get the new unit.
    A later day is scheduled: the booking holds the old unit until the day before and the new one
    from that day; the old unit's grants end, and the new unit's start, at the start of that day in
    the location's time zone. It can be cancelled until then.
    """
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    booking_refuse_unless_open(booking)
    today = booking.location.local_now().date()
    on = on or today
    if booking.starts_on > today:
        raise ValidationError("Only a current booking can be transferred; a Reserved one can be cancelled.")
    if on < today:
        raise ValidationError({"on": "The transfer date cannot be in the past."})
    if booking.ends_on is not None and on > booking.ends_on:
        raise ValidationError(
            {"on": f"The transfer date cannot be after the move-out ({local_day(booking.ends_on)})."}
        )
    locked = {
        unit.pk: unit for unit in Unit.objects.select_for_update().filter(pk__in=[from_unit.pk, to_unit.pk])
    }
    row = booking.booking_units.filter(unit=from_unit).select_related("transfer_to__unit").first()
    if row is None:
        raise ValidationError({"from_unit": "This unit is not one of the booking's."})
    transfer_from_check(row, today)
    transfer_to_check(booking, locked[to_unit.pk], on, today)
    if monthly_rent is not None and monthly_rent < 0:
        raise ValidationError({"monthly_rent": "A rent cannot be below zero."})
    # Staff's rent for the new unit; else its price; else the rent paid for the old one.
    rent = next(r for r in (monthly_rent, to_unit.monthly_price, row.monthly_rent) if r is not None)
    if on == today:
        row.unit, row.starts_on, row.monthly_rent = to_unit, today, rent
        booking_unit_save_holding(row, update_fields=["unit", "starts_on", "monthly_rent"])
        moved = grants_transfer(booking=booking, from_unit=from_unit, to_unit=to_unit)
        for car in cars_in_bays([from_unit]):  # a car in the bay follows it to the new one
            car_move(actor=actor, car=car, bay=to_unit)
    else:
        new_row = BookingUnit(
            booking=booking, unit=to_unit, starts_on=on, ends_on=booking.ends_on, monthly_rent=rent
        )
        booking_unit_save_holding(new_row)
        row.ends_on, row.transfer_to = on - dt.timedelta(days=1), new_row
        row.save(update_fields=["ends_on", "transfer_to"])
        at = booking.location.start_of_day(on)
        moved = grants_transfer_at(booking=booking, from_unit=from_unit, to_unit=to_unit, at=at)
    _transfer_record(
        actor,
        booking,
        "booking.transferred",
        from_unit,
        to_unit,
        on=on.isoformat(),
        scheduled=on > today,
        monthly_rent=str(rent),
        grants_ended=moved.ended if on == today else [],
        grants_ending=[] if on == today else moved.ended,
        shares_moved=moved.shares,
    )
    transfer_email(booking=booking, from_unit=from_unit, to_unit=to_unit, on=on, today=today)
    return booking


@transaction.atomic
def booking_transfer_cancel(*, actor: Actor, booking: Booking, from_unit: Unit) -> Booking:
    """Cancel a transfer on a later day before it happens: the booking keeps the old unit as before
    and gives the new one back, with its grants."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    booking_refuse_unless_open(booking)
    today = booking.location.local_now().date()
    row = (
        booking.booking_units.filter(unit=from_unit, transfer_to__isnull=False)
        .select_related("transfer_to__unit")
        .first()
    )
    if row is None or row.transfer_to is None:
        raise ValidationError("No transfer of this unit is scheduled.")
    new_row = row.transfer_to
    if new_row.starts_on <= today:
        raise ValidationError("This transfer has happened already.")
    to_unit = new_row.unit
    list(Unit.objects.select_for_update().filter(pk__in=[from_unit.pk, to_unit.pk]))
    if units_clashing([from_unit], new_row.starts_on, booking.ends_on, exclude=booking):
        raise ValidationError(
            f"Unit {from_unit.number} is booked from {local_day(new_row.starts_on)} meanwhile: "
            "the transfer cannot be cancelled."
        )
    revoked = grants_transfer_cancel(booking=booking, from_unit=from_unit, to_unit=to_unit)
    was = new_row.starts_on
    new_row.delete()
    row.ends_on, row.transfer_to = booking.ends_on, None
    try:
        with transaction.atomic():
            row.save(update_fields=["ends_on", "transfer_to"])
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a booking of the old unit that committed meanwhile.
        raise ValidationError(OVERLAP_MESSAGE.format(units=from_unit.number)) from None
    _transfer_record(
        actor,
        booking,
        "booking.transfer_cancelled",
        from_unit,
        to_unit,
        was=was.isoformat(),
        grants_revoked=revoked,
    )
    transfer_cancelled_email(booking=booking, from_unit=from_unit, to_unit=to_unit, was=was)
    return booking


def _transfer_record(
    actor: Actor, booking: Booking, action: str, from_unit: Unit, to_unit: Unit, **details: object
) -> None:
    """Audit a transfer (or its cancelling), then send the booking's changed grants to the provider."""
    booking_audit(
        actor=actor,
        action=action,
        booking=booking,
        details={"from": from_unit.number, "to": to_unit.number, **details},
    )
    grants_sync_for_booking(actor=actor, booking=booking)

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from keyport.access.emails import local_day
from keyport.access.services import (
    booking_access_end_now,
    grants_sync_for_booking,
    grants_transfer,
    grants_transfer_at,
    grants_transfer_cancel,
    holder_for_contact,
)
from keyport.audit.services import Actor, audit_record
from keyport.bookings.emails import move_out_cancelled_email, move_out_email, welcome_email
from keyport.bookings.models import Booking, BookingStatus, BookingUnit, booked_between
from keyport.contacts.models import Customer, PortalLinkPurpose
from keyport.contacts.services import (
    NewCustomer,
    new_customer_create,
    portal_link_issue,
    portal_link_lifetime,
)
from keyport.facilities.models import Location, Unit, UnitStatus
from keyport.staff.models import StaffUser

OVERLAP_MESSAGE = "Already booked for these dates: {units}."


def _overlapping(
    units: Sequence[Unit], starts_on: dt.date, ends_on: dt.date | None, *, exclude: Booking | None = None
) -> list[str]:
    clashes = BookingUnit.objects.filter(booked_between(starts_on, ends_on), unit__in=units)
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
    previous = _end_date_move(booking, ends_on)
    audit_record(
        actor=actor,
        action="booking.end_date_set",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={"from": _iso(previous), "to": _iso(ends_on)},
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    return booking


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _end_date_move(booking: Booking, ends_on: dt.date | None) -> dt.date | None:
    """Give the locked booking and its units this last day; return the one it had.

    A unit moved in later than the booking (a transfer) is checked for clashes from its own first day;
    one a transfer on a later day takes away keeps its last day.
    """
    _validate_dates(booking.starts_on, ends_on)
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
            for number in _overlapping([row.unit], row.starts_on, ends_on, exclude=booking)
        }
    )
    if clashes:
        raise ValidationError({"ends_on": OVERLAP_MESSAGE.format(units=", ".join(clashes))})
    previous = booking.ends_on
    booking.ends_on = ends_on
    booking.save(update_fields=["ends_on"])
    booking.booking_units.filter(transfer_to__isnull=True).update(ends_on=ends_on)
    return previous


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


@transaction.atomic
def booking_cancel_reservation(*, actor: Actor, booking: Booking, reason: str) -> Booking:
    """The operator's Cancel of a Reserved booking: it never gave access, and its units are free again.

    A booking that has started is moved out instead, so that its days stay on record.
    """
    booking = Booking.objects.select_for_update().select_related("location").get(pk=booking.pk)
    _refuse_unless_open(booking)
    if booking.starts_on <= booking.location.local_now().date():
        raise ValidationError({"reason": "This booking has started: move it out instead."})
    return booking_cancel(actor=actor, booking=booking, reason=reason)


def _refuse_unless_open(booking: Booking) -> None:
    """Refuse to end a booking that is cancelled or has ended already."""
    if booking.is_cancelled:
        raise ValidationError("This booking is cancelled.")
    ends_at = booking.ends_at()
    if ends_at is not None and ends_at <= timezone.now():
        raise ValidationError("This booking has ended already.")


@transaction.atomic
def booking_move_out(
    *, actor: Actor, booking: Booking, on: dt.date, access_ends_now: bool = False
) -> Booking:
    """Move out: the booking's last day is `on`, and access ends at the end of that day, or now.

    A move-out on a later day is scheduled: it can be changed or cancelled until it happens. The
    tenant's portal people get the Move-out email, which confirms when their access ends.
    """
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    _refuse_unless_open(booking)
    today = booking.location.local_now().date()
    if on < booking.starts_on:
        raise ValidationError(
            {"on": f"The move-out cannot be before the move-in ({local_day(booking.starts_on)})."}
        )
    if on < today:
        raise ValidationError({"on": "The move-out cannot be in the past."})
    if access_ends_now and on != today:
        raise ValidationError({"access_ends_now": "Access can end now only when the move-out is today."})
    try:
        previous = _end_date_move(booking, on)
    except ValidationError as error:
        raise ValidationError({"on": error.message_dict["ends_on"]}) from None
    if access_ends_now:
        booking.ended_at = timezone.now()
        booking.save(update_fields=["ended_at"])
        _units_free_from(booking, today)
    audit_record(
        actor=actor,
        action="booking.moved_out",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={
            "on": on.isoformat(),
            "access_ends": "now" if access_ends_now else "end of day",
            "previous_end": _iso(previous),
        },
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    if access_ends_now:
        booking_access_end_now(booking=booking)
    move_out_email(booking=booking)
    return booking


def _units_free_from(booking: Booking, today: dt.date) -> None:
    """Access ended now: the units are free for another booking from today on. A unit held since
    before today is held until yesterday; one moved in today was held for no whole day, and its
    row holds it no more (as a cancelled booking's rows do)."""
    booking.booking_units.filter(starts_on__lt=today).update(ends_on=today - dt.timedelta(days=1))
    booking.booking_units.filter(starts_on__gte=today).update(is_cancelled=True)


@transaction.atomic
def booking_move_out_cancel(*, actor: Actor, booking: Booking) -> Booking:
    """Cancel a scheduled move-out before it happens: the booking is open-ended again."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    _refuse_unless_open(booking)
    was = booking.ends_on
    if was is None:
        raise ValidationError("No move-out is scheduled for this booking.")
    _end_date_move(booking, None)
    audit_record(
        actor=actor,
        action="booking.move_out_cancelled",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={"was": was.isoformat()},
    )
    grants_sync_for_booking(actor=actor, booking=booking)
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
    _refuse_unless_open(booking)
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
    _refuse_transfer_from(row, today)
    _refuse_transfer_to(booking, locked[to_unit.pk], on, today)
    if monthly_rent is not None and monthly_rent < 0:
        raise ValidationError({"monthly_rent": "A rent cannot be below zero."})
    # Staff's rent for the new unit; else its price; else the rent paid for the old one.
    rent = next(r for r in (monthly_rent, to_unit.monthly_price, row.monthly_rent) if r is not None)
    if on == today:
        row.unit, row.starts_on, row.monthly_rent = to_unit, today, rent
        _save_holding(row, update_fields=["unit", "starts_on", "monthly_rent"])
        moved = grants_transfer(booking=booking, from_unit=from_unit, to_unit=to_unit)
    else:
        new_row = BookingUnit(
            booking=booking, unit=to_unit, starts_on=on, ends_on=booking.ends_on, monthly_rent=rent
        )
        _save_holding(new_row)
        row.ends_on, row.transfer_to = on - dt.timedelta(days=1), new_row
        row.save(update_fields=["ends_on", "transfer_to"])
        at = booking.location.start_of_day(on)
        moved = grants_transfer_at(booking=booking, from_unit=from_unit, to_unit=to_unit, at=at)
    audit_record(
        actor=actor,
        action="booking.transferred",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={
            "from": from_unit.number,
            "to": to_unit.number,
            "on": on.isoformat(),
            "scheduled": on > today,
            "monthly_rent": str(rent),
            "grants_ended": moved.ended if on == today else [],
            "grants_ending": [] if on == today else moved.ended,
            "shares_moved": moved.shares,
        },
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    return booking


def _save_holding(row: BookingUnit, update_fields: list[str] | None = None) -> None:
    """Save the row of the unit a transfer brings in."""
    try:
        with transaction.atomic():
            row.save(update_fields=update_fields)
    except IntegrityError:
        # PostgreSQL's exclusion constraint caught a booking of the unit that committed meanwhile.
        raise ValidationError({"to_unit": OVERLAP_MESSAGE.format(units=row.unit.number)}) from None


def _refuse_transfer_from(row: BookingUnit, today: dt.date) -> None:
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


def _refuse_transfer_to(booking: Booking, unit: Unit, on: dt.date, today: dt.date) -> None:
    if unit.location_id != booking.location_id:
        raise ValidationError({"to_unit": "This unit is at another location."})
    if booking.booking_units.filter(unit=unit).exists():
        raise ValidationError({"to_unit": "The booking has this unit already: choose another one."})
    if unit.status != UnitStatus.AVAILABLE:
        raise ValidationError({"to_unit": f"Unit {unit.number} is {unit.get_status_display()}."})
    if _overlapping([unit], on, booking.ends_on):
        since = "today" if on == today else local_day(on)
        raise ValidationError(
            {"to_unit": f"Unit {unit.number} is not free from {since} to the booking's end."}
        )


@transaction.atomic
def booking_transfer_cancel(*, actor: Actor, booking: Booking, from_unit: Unit) -> Booking:
    """Cancel a transfer on a later day before it happens: the booking keeps the old unit as before
    and gives the new one back, with its grants."""
    booking = Booking.objects.select_for_update().select_related("location", "customer").get(pk=booking.pk)
    _refuse_unless_open(booking)
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
    if _overlapping([from_unit], new_row.starts_on, booking.ends_on, exclude=booking):
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
    audit_record(
        actor=actor,
        action="booking.transfer_cancelled",
        target=booking,
        location=booking.location,
        customer=booking.customer,
        details={
            "from": from_unit.number,
            "to": to_unit.number,
            "was": was.isoformat(),
            "grants_revoked": revoked,
        },
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    return booking


# Move in ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MoveIn:
    """What the front desk fills in for a move-in at a location."""

    location: Location
    units: Sequence[Unit]
    starts_on: dt.date
    ends_on: dt.date | None = None
    monthly_rents: Mapping[int, Decimal] = field(default_factory=dict)
    deposit: Decimal | None = None
    note: str = ""


@transaction.atomic
def booking_move_in(*, staff: StaffUser, customer: Customer | NewCustomer, move_in: MoveIn) -> Booking:
    """Rent units to a customer (an existing one, or a new one opened here): the booking, its
    doors from the start of the move-in day, and a Welcome with a sign-in link to each of the
    customer's portal people. Only owners move in from a day already past (back-dated)."""
    location = move_in.location
    if not staff.can_operate_location(location):
        raise PermissionDenied
    back_dated = move_in.starts_on < location.local_now().date()
    if back_dated and not staff.is_owner:
        raise ValidationError({"starts_on": "Only owners can move in from a day already past."})
    actor = Actor.staff(staff)
    if isinstance(customer, NewCustomer):
        customer = new_customer_create(actor=actor, new=customer)
    elif not staff.can_change_customer(customer):
        raise ValidationError({"customer": "Choose a customer of a location you run."})
    if any(unit.location_id != location.pk for unit in move_in.units):
        raise ValidationError({"units": f"Choose units of {location.name}."})
    booking = booking_create(
        actor=actor,
        customer=customer,
        units=move_in.units,
        starts_on=move_in.starts_on,
        ends_on=move_in.ends_on,
        monthly_rents=move_in.monthly_rents,
        deposit=move_in.deposit,
        note=move_in.note,
    )
    welcomed = _welcome(actor, booking)
    audit_record(
        actor=actor,
        action="booking.moved_in",
        target=booking,
        location=location,
        customer=customer,
        details={"back_dated": back_dated, "welcome_sent_to": welcomed},
    )
    return booking


def _welcome(actor: Actor, booking: Booking) -> list[str]:
    """A Welcome to each of the customer's portal people, with their PIN and a sign-in link (which
    makes their Account Status Email Sent); the addresses it went to."""
    sent = []
    people = booking.customer.portal_people()
    for contact in people:
        holder = holder_for_contact(location=booking.location, contact=contact)
        _, token = portal_link_issue(actor=actor, contact=contact, purpose=PortalLinkPurpose.INVITE)
        lifetime = portal_link_lifetime(PortalLinkPurpose.INVITE)
        welcome_email(booking=booking, contact=contact, pin=holder.pin, token=token, lifetime=lifetime)
        sent.append(str(contact.email))
    return sent

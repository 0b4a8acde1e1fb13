"""Rentals at the front desk: a booking made (Move in), its last day moved, or cancelled, with its
doors in the same transaction."""

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from keyport.access.services import grants_sync_for_booking, holder_for_contact
from keyport.audit.services import Actor, audit_record
from keyport.billing.rent import booking_billing_end, booking_invoice_first
from keyport.bookings.emails import welcome_email
from keyport.bookings.models import Booking, BookingStatus, BookingUnit
from keyport.bookings.services import (
    OVERLAP_MESSAGE,
    booking_audit,
    booking_dates_check,
    booking_end_date_move,
    booking_refuse_unless_open,
    iso_day,
    monthly_rents_for,
    units_clashing,
)
from keyport.contacts.models import Customer, PortalLinkPurpose
from keyport.contacts.services import (
    NewCustomer,
    new_customer_create,
    portal_link_issue,
    portal_link_lifetime,
)
from keyport.facilities.models import Location, Unit, UnitStatus
from keyport.staff.models import StaffUser


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
    booking_dates_check(starts_on, ends_on)
    rents = monthly_rents_for(units, monthly_rents or {})
    if deposit is not None and deposit < 0:
        raise ValidationError({"deposit": "The deposit cannot be below zero."})
    # Lock the units so two bookings of the same unit cannot pass the check together.
    locked = list(Unit.objects.select_for_update().filter(pk__in=[unit.pk for unit in units]))
    unavailable = sorted(unit.number for unit in locked if unit.status != UnitStatus.AVAILABLE)
    if unavailable:
        raise ValidationError({"units": f"Not available for booking: {', '.join(unavailable)}."})
    clashes = units_clashing(locked, starts_on, ends_on)
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
    previous = booking_end_date_move(booking, ends_on)
    booking_audit(
        actor=actor,
        action="booking.end_date_set",
        booking=booking,
        details={"from": iso_day(previous), "to": iso_day(ends_on)},
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    booking_billing_end(actor=actor, booking=booking)
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
    booking_audit(
        actor=actor,
        action="booking.cancelled",
        booking=booking,
        details={"reason": reason.strip()},
    )
    grants_sync_for_booking(actor=actor, booking=booking)
    booking_billing_end(actor=actor, booking=booking)
    return booking


@transaction.atomic
def booking_cancel_reservation(*, actor: Actor, booking: Booking, reason: str) -> Booking:
    """The operator's Cancel of a Reserved booking: it never gave access, and its units are free again.

    A booking that has started is moved out instead, so that its days stay on record.
    """
    booking = Booking.objects.select_for_update().select_related("location").get(pk=booking.pk)
    booking_refuse_unless_open(booking)
    if booking.starts_on <= booking.location.local_now().date():
        raise ValidationError({"reason": "This booking has started: move it out instead."})
    return booking_cancel(actor=actor, booking=booking, reason=reason)


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
    booking_invoice_first(booking=booking)
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

"""Rentals: every booking of the staff member's locations with its phase, units, rent and access
state (from the access engine), searched, filtered and paged by keyset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import (
    Case,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from keyport.access.models import AccessGrant, RevocationOrigin, SyncState
from keyport.bookings.models import (
    ENDING_SOON_DAYS,
    Booking,
    BookingPhase,
    BookingStatus,
    BookingUnit,
)
from keyport.contacts.models import Customer
from keyport.facilities.models import Location, Unit
from keyport.frontdesk.queries.contacts import customers_with_a_contact_named
from keyport.lib.keyset import decode_cursor_values, encode_cursor_values, is_cursor_id, seek_window
from keyport.lib.money import DEFAULT_CURRENCY
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff

# Rentals: every booking of the staff member's locations with its phase, units, rent and access
# state, searched, filtered and paged by keyset. The phase is worked out by the database from
# each location's own today, so that a filter by phase is a WHERE and a page stays 50 rows.


class RentalAccess(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Access revoked"
    LOCKED = "locked", "Locked for overdue"
    UPCOMING = "upcoming", "From the move-in"
    NONE = "none", "None"


class RentalDay(models.TextChoices):
    MOVE_INS = "move_ins", "Move-ins today"
    MOVE_OUTS = "move_outs", "Move-outs today"


@dataclass(frozen=True, kw_only=True)
class RentalFilters:
    search: str = ""
    phase: str = ""  # a BookingPhase value, "" for every phase
    day: str = ""  # a RentalDay value, "" for any day


@dataclass(frozen=True)
class Rental:
    """One row of Rentals."""

    booking: Booking
    phase: str
    units: list[Unit]
    monthly_rent: Decimal
    currency: str
    access: RentalAccess
    sync_failing: bool


@dataclass(frozen=True)
class RentalPage:
    rentals: list[Rental]
    previous_cursor: str | None
    next_cursor: str | None


# Newest move-in first; the index (location, starts_on, id) serves it.
RENTAL_KEYS = ("starts_on", "id")


@dataclass(frozen=True)
class RentalScope:
    """The locations a Rentals page lists, and each one's today in its own time zone (the ids of
    the locations per date: most share one)."""

    locations: dict[int, Location]
    todays: dict[dt.date, list[int]]

    @classmethod
    def of(cls, locations: Iterable[Location]) -> RentalScope:
        by_id = {location.pk: location for location in locations}
        todays: dict[dt.date, list[int]] = {}
        for location in by_id.values():
            todays.setdefault(location.local_now().date(), []).append(location.pk)
        return cls(locations=by_id, todays=todays)

    @classmethod
    def for_staff(cls, user: StaffUser) -> RentalScope:
        """Every location this staff member sees."""
        return cls.of(locations_for_staff(user))

    def bookings(self) -> QuerySet[Booking]:
        return Booking.objects.filter(location_id__in=list(self.locations))


def phase_conditions(today: dt.date, now: dt.datetime) -> dict[BookingPhase, Q]:
    """Which bookings are in each phase on `today` (the rule of Booking.phase_label, for a WHERE)."""
    live = Q(status=BookingStatus.CONFIRMED)
    started = live & Q(starts_on__lte=today)
    running = (
        started
        & (Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        & (Q(ended_at__isnull=True) | Q(ended_at__gt=now))
    )
    soon = today + dt.timedelta(days=ENDING_SOON_DAYS)
    return {
        BookingPhase.RESERVED: live & Q(starts_on__gt=today),
        BookingPhase.CURRENT: running & (Q(ends_on__isnull=True) | Q(ends_on__gt=soon)),
        BookingPhase.ENDING_SOON: running & Q(ends_on__lte=soon),
        BookingPhase.ENDED: started & (Q(ends_on__lt=today) | Q(ended_at__lte=now)),
        BookingPhase.CANCELLED: Q(status=BookingStatus.CANCELLED),
    }


def _at_each_location(todays: dict[dt.date, list[int]], condition: Callable[[dt.date], Q]) -> Q:
    """The condition on each location's own today."""
    found = Q(pk__in=[])
    for today, location_ids in todays.items():
        found |= Q(location_id__in=location_ids) & condition(today)
    return found


def _phase_expression(todays: dict[dt.date, list[int]], now: dt.datetime) -> Case:
    whens = [
        When(Q(location_id__in=location_ids) & condition, then=Value(phase.value))
        for today, location_ids in todays.items()
        for phase, condition in phase_conditions(today, now).items()
    ]
    return Case(*whens, default=Value(BookingPhase.CURRENT.value), output_field=models.CharField())


def filter_rentals(
    bookings: QuerySet[Booking], filters: RentalFilters, scope: RentalScope
) -> QuerySet[Booking]:
    todays = scope.todays
    text = filters.search.strip()
    if text:
        bookings = bookings.filter(search_rentals(text))
    if filters.phase in BookingPhase.values:
        phase = BookingPhase(filters.phase)
        now = timezone.now()
        bookings = bookings.filter(
            _at_each_location(todays, lambda today: phase_conditions(today, now)[phase])
        )
    if filters.day == RentalDay.MOVE_INS:
        bookings = bookings.filter(
            _at_each_location(todays, lambda today: Q(status=BookingStatus.CONFIRMED, starts_on=today))
        )
    elif filters.day == RentalDay.MOVE_OUTS:
        bookings = bookings.filter(
            _at_each_location(todays, lambda today: Q(status=BookingStatus.CONFIRMED, ends_on=today))
        )
    return bookings


def search_rentals(text: str) -> Q:
    """The customer's name, one of its contacts by name, email or phone (accents and case aside,
    as All Contacts searches them), or a unit's number.

    Each is looked for in one pass over its own table; the bookings are then read by id.
    """
    customers = Customer.objects.filter(Q(name__icontains=text) | Q(contacts__email__contains=text.lower()))
    units = BookingUnit.objects.filter(unit__number__icontains=text)
    return (
        Q(customer_id__in=customers.values("pk"))
        | Q(customer_id__in=customers_with_a_contact_named(text))
        | Q(pk__in=units.values("booking_id"))
    )


def rentals_page(
    bookings: QuerySet[Booking],
    *,
    scope: RentalScope,
    after: str = "",
    before: str = "",
    size: int = 50,
) -> RentalPage:
    """One page of Rentals, newest move-in first, seeking past a cursor (`keyport.lib.keyset`)."""
    window = seek_window(
        lambda beyond, backwards: _rentals_window(bookings, scope, beyond, size, backwards=backwards),
        keys=RENTAL_KEYS,
        descending=True,
        after=_decode_rental_cursor(after) if after else None,
        before=_decode_rental_cursor(before) if before else None,
        size=size,
    )
    rows = window.rows
    return RentalPage(
        rentals=rows,
        previous_cursor=rental_cursor(rows[0].booking) if rows and window.has_previous else None,
        next_cursor=rental_cursor(rows[-1].booking) if rows and window.has_next else None,
    )


def _rentals_window(
    bookings: QuerySet[Booking],
    scope: RentalScope,
    beyond: Q,
    size: int,
    *,
    backwards: bool,
) -> list[Rental]:
    """The ids are picked off the sort index first; the columns are then read for those rows only."""
    order = ["starts_on", "id"] if backwards else ["-starts_on", "-id"]
    ids = bookings.filter(beyond).order_by(*order).values("pk")[: size + 1]
    rows = with_rental_columns(Booking.objects.filter(pk__in=ids), scope).order_by("-starts_on", "-id")
    return [_rental(booking, scope) for booking in rows]


def with_rental_columns(bookings: QuerySet[Booking], scope: RentalScope) -> QuerySet[Booking]:
    """Customer, units with their rents, phase, currency and the facts of the access
    state (Revoke, overdue lock, grants the provider refused), in two queries."""
    failed = AccessGrant.objects.filter(booking=OuterRef("pk"), sync_state=SyncState.FAILED)
    units = BookingUnit.objects.select_related("unit", "transfer_to").order_by("unit__number")
    return (
        bookings.select_related("customer")
        .prefetch_related(Prefetch("booking_units", queryset=units))
        .annotate(
            phase_value=_phase_expression(scope.todays, timezone.now()),
            currency=Coalesce(F("location__billing_settings__currency"), Value(DEFAULT_CURRENCY)),
            access_revoked_at=F("access__revoked_at"),
            access_revoked_origin=F("access__revoked_origin"),
            sync_failing=Exists(failed),
        )
    )


def _rental(booking: Booking, scope: RentalScope) -> Rental:
    booking.location = scope.locations[booking.location_id]  # read already, once for every row
    today = booking.location.local_now().date()
    booked = [row for row in booking.booking_units.all() if row.holds_unit_as_of(today)]
    # Annotated by with_rental_columns (the type checker cannot see annotations).
    values: Any = booking
    phase = BookingPhase(values.phase_value)
    return Rental(
        booking=booking,
        phase=phase.label,
        units=[row.unit for row in booked],
        monthly_rent=sum((row.monthly_rent for row in booked), Decimal("0")),
        currency=values.currency,
        access=rental_access(
            phase, revoked=values.access_revoked_at is not None, origin=values.access_revoked_origin
        ),
        sync_failing=values.sync_failing,
    )


def rental_access(phase: BookingPhase, *, revoked: bool, origin: str | None) -> RentalAccess:
    """What the Access column says: nothing once the booking is over, else whether it is revoked
    (by staff, or locked by billing's overdue lockout), not begun yet, or active."""
    if phase in (BookingPhase.ENDED, BookingPhase.CANCELLED):
        return RentalAccess.NONE
    if revoked:
        return RentalAccess.LOCKED if origin == RevocationOrigin.OVERDUE else RentalAccess.REVOKED
    if phase == BookingPhase.RESERVED:
        return RentalAccess.UPCOMING
    return RentalAccess.ACTIVE


def rental_cursor(booking: Booking) -> str:
    """The cursor of the page after this booking's row."""
    return encode_cursor_values([booking.starts_on.isoformat(), booking.pk])


def _decode_rental_cursor(cursor: str) -> list[Any] | None:
    values = decode_cursor_values(cursor, len(RENTAL_KEYS))
    if values is None or not isinstance(values[0], str) or not is_cursor_id(values[1]):
        return None
    try:
        return [dt.date.fromisoformat(values[0]), values[1]]
    except ValueError:
        return None

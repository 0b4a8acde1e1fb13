"""Each unit's state on a day (Available, Reserved, Occupied, Locked, Out of service), for the Units
page, and the occupancy per location for the Overview."""

from __future__ import annotations

import datetime as dt
import hashlib
import operator
import zoneinfo
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import reduce
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from keyport.bookings.models import (
    Booking,
    BookingStatus,
    BookingUnit,
)
from keyport.facilities.models import Location, Unit, UnitAccessPoint, UnitStatus
from keyport.facilities.queries import occupied_on

# Units page and Overview: each unit's state on a day, and occupancy per location.

UNITS_PAGE_SIZE = 50


class UnitState(models.TextChoices):
    AVAILABLE = "available", "Available"
    RESERVED = "reserved", "Reserved"
    OCCUPIED = "occupied", "Occupied"
    LOCKED = "locked", "Locked"
    OUT_OF_SERVICE = "out_of_service", "Out of service"


def _holding(day: dt.date, instant: dt.datetime) -> Q:
    """Booking units that hold their unit on this day, unless a move-out ended access by `instant`."""
    return occupied_on(day) & ~Q(booking__ended_at__lte=instant)


def _held_by_locked(locked_by: dt.datetime) -> Q:
    """Booking units whose booking an overdue invoice locked before this instant (and still does)."""
    return Q(booking__invoices__access_locked_at__lt=locked_by)


StateRules = list[tuple[UnitState, Q]]


def _state_rules(*, held: Q, locked: Q, reserved: Q) -> StateRules:
    """What puts a unit in each state, in order: the first rule that holds decides. A unit rented
    is Occupied (Locked when overdue) whatever its service status; a unit not rented is Out of
    service, Reserved by a later booking, or Available."""
    return [
        (UnitState.LOCKED, _with_booking_unit(held & locked)),
        (UnitState.OCCUPIED, _with_booking_unit(held)),
        (UnitState.OUT_OF_SERVICE, Q(status=UnitStatus.OUT_OF_SERVICE)),
        (UnitState.RESERVED, _with_booking_unit(reserved)),
        (UnitState.AVAILABLE, Q()),
    ]


def _with_booking_unit(condition: Q) -> Q:
    """Units with a booking unit that meets the condition."""
    return Q(Exists(BookingUnit.objects.filter(condition, unit=OuterRef("pk"))))


def _state(rules: StateRules) -> Case:
    *decided, (last, _) = rules
    return Case(
        *(When(condition, then=Value(state.value)) for state, condition in decided),
        default=Value(last.value),
        output_field=models.CharField(),
    )


def _in_states(rules: StateRules, states: Collection[UnitState]) -> Q:
    """The units in one of these states: the rule of one holds and no earlier rule of another does.

    The nearer rules are asked first: a unit Locked is held too, so asking whether it is held
    settles most units before the dearer lock (a join to the invoices) is asked.
    """
    matches: list[Q] = []
    earlier = Q()
    for state, condition in rules:
        if state in states:
            matches.insert(0, condition & earlier)
        else:
            earlier = ~condition & earlier
    return reduce(operator.or_, matches)


def _read_at(location: Location, day: dt.date, now: dt.datetime) -> dt.datetime:
    """The instant a day's state is read at: now for today and later days, else the day's end."""
    return min(now, location.start_of_day(day + dt.timedelta(days=1)))


@dataclass(frozen=True)
class UnitFilters:
    state: str = ""
    unit_type_id: int | None = None
    size_from: Decimal | None = None
    size_to: Decimal | None = None
    number: str = ""


@dataclass(frozen=True)
class UnitsOnDay:
    """A location's units on a day: which of them a filter lists, and each one's state on it.

    A page is counted and sliced off the unit table (a state filter is an EXISTS on the unit's
    booking units), and the states and tenants are then read for that page's units only.
    """

    location: Location
    day: dt.date
    held: Q
    locked: Q
    reserved: Q

    @classmethod
    def of(cls, location: Location, day: dt.date, now: dt.datetime) -> UnitsOnDay:
        instant = _read_at(location, day, now)
        return cls(
            location=location,
            day=day,
            held=_holding(day, instant),
            locked=_held_by_locked(instant),
            reserved=Q(is_cancelled=False, starts_on__gt=day),
        )

    def units(self, filters: UnitFilters = UnitFilters()) -> QuerySet[Unit]:
        """The location's units in service or out of it (not retired) that match the filters, in
        the page's order, without their state.

        The state "occupied" filters for Locked units too: they are occupied, and the Overview
        counts them so.
        """
        units = _filtered(self.location.units.exclude(status=UnitStatus.RETIRED), filters)
        if filters.state:
            units = units.filter(self._in_state(UnitState(filters.state)))
        # Numbers are unique at a location: the number alone orders the page, read off the index.
        return units.order_by("number")

    def _in_state(self, state: UnitState) -> Q:
        rules = _state_rules(held=self.held, locked=self.locked, reserved=self.reserved)
        if state in STATUS_OF_STATE:
            return Q(status=STATUS_OF_STATE[state]) & _in_states(rules, [state])
        if state == UnitState.OCCUPIED:
            return _in_states(rules, [UnitState.LOCKED, UnitState.OCCUPIED])
        return _in_states(rules, [state])

    def page(self, filters: UnitFilters, number: int) -> tuple[Page[Any], list[Unit]]:
        """Page `number` of the units the filters list (its count and neighbours, over the units'
        ids), and its units `with_states`.

        The first page reads its rows at once; one that holds every match (a search, a narrow
        filter) is counted from its own rows, without a COUNT.
        """
        units = self.units(filters)
        if number == 1:
            first = list(units.select_related("unit_type")[: UNITS_PAGE_SIZE + 1])
            if len(first) <= UNITS_PAGE_SIZE:
                return Paginator(first, UNITS_PAGE_SIZE).page(1), self._with_states(first)
            page = Paginator(units.values_list("pk", flat=True), UNITS_PAGE_SIZE).page(1)
            return page, self._with_states(first[:UNITS_PAGE_SIZE])
        page = Paginator(units.values_list("pk", flat=True), UNITS_PAGE_SIZE).get_page(number)
        return page, self.with_states(list(page.object_list))

    def with_states(self, ids: list[int]) -> list[Unit]:
        """These units (a page of `units`, by id), each with `state` on the day, `tenant` (of the
        booking holding it, else of the next one reserving it; None without) and
        `access_point_names`: three queries, whatever the page."""
        if not ids:
            return []
        return self._with_states(
            list(Unit.objects.filter(pk__in=ids).select_related("unit_type").order_by("number"))
        )

    def _with_states(self, rows: list[Unit]) -> list[Unit]:
        ids = [unit.pk for unit in rows]
        booked = self._booked(ids)
        names = _access_point_names(ids)
        for unit in rows:
            holding_or_reserving = booked.get(unit.pk, [])
            # Read by the template (the type checker cannot see these).
            values: Any = unit
            values.state = _state_of(unit, holding_or_reserving)
            values.tenant = _tenant_of(holding_or_reserving)
            values.access_point_names = names.get(unit.pk, [])
        return rows

    def _booked(self, unit_ids: list[int]) -> dict[int, list[_Booked]]:
        """The booking units that hold or reserve each of these units on the day, earliest first.

        Of those, the ones that hold it are the ones begun by the day (a reserving one begins
        later); they are locked when an overdue invoice locked their booking."""
        rows = (
            BookingUnit.objects.filter(Q(unit_id__in=unit_ids) & (self.held | self.reserved))
            .annotate(is_locked=Exists(BookingUnit.objects.filter(self.locked, pk=OuterRef("pk"))))
            .order_by("starts_on", "pk")
            .values_list(
                "unit_id",
                "starts_on",
                "is_locked",
                "booking__customer_id",
                "booking__customer__name",
                "booking__starts_on",
                "booking__ends_on",
            )
        )
        booked: dict[int, list[_Booked]] = {}
        for unit_id, unit_starts_on, locked, customer_id, name, starts_on, ends_on in rows:
            held = unit_starts_on <= self.day
            tenant = Tenant(customer_id=customer_id, name=name, starts_on=starts_on, ends_on=ends_on)
            booked.setdefault(unit_id, []).append(_Booked(held=held, locked=held and locked, tenant=tenant))
        return booked


@dataclass(frozen=True)
class Tenant:
    """Who a unit's booking is for, and its dates, as the Units page shows them."""

    customer_id: int
    name: str
    starts_on: dt.date
    ends_on: dt.date | None


@dataclass(frozen=True)
class _Booked:
    """A booking unit that holds its unit on the day (`held`, and `locked` when overdue) or reserves it."""

    held: bool
    locked: bool
    tenant: Tenant


def _state_of(unit: Unit, booked: list[_Booked]) -> UnitState:
    """`_state_rules` read for one unit, from the booking units that hold or reserve it."""
    held = [row for row in booked if row.held]
    if any(row.locked for row in held):
        return UnitState.LOCKED
    if held:
        return UnitState.OCCUPIED
    if unit.status == UnitStatus.OUT_OF_SERVICE:
        return UnitState.OUT_OF_SERVICE
    return UnitState.RESERVED if booked else UnitState.AVAILABLE


def _tenant_of(booked: list[_Booked]) -> Tenant | None:
    """The tenant of the booking holding the unit, else of the next one reserving it."""
    held = [row for row in booked if row.held]
    first = (held or booked)[:1]
    return first[0].tenant if first else None


def _access_point_names(unit_ids: list[int]) -> dict[int, list[str]]:
    """The names of the access points mapped to each of these units, in the access points' order."""
    mappings = (
        UnitAccessPoint.objects.filter(unit_id__in=unit_ids)
        .order_by("access_point__kind", "access_point__name", "access_point_id")
        .values_list("unit_id", "access_point__name")
    )
    names: dict[int, list[str]] = {}
    for unit_id, name in mappings:
        names.setdefault(unit_id, []).append(name)
    return names


# What a unit's own status must be for it to be Available or Reserved: a plain column the database
# checks before it asks the bookings (Out of service is a plain column in its own rule).
STATUS_OF_STATE = {
    UnitState.AVAILABLE: UnitStatus.AVAILABLE,
    UnitState.RESERVED: UnitStatus.AVAILABLE,
}


def _filtered(units: QuerySet[Unit], filters: UnitFilters) -> QuerySet[Unit]:
    """The units that match the filters on their own columns."""
    if filters.unit_type_id is not None:
        units = units.filter(unit_type_id=filters.unit_type_id)
    if filters.size_from is not None:
        units = units.filter(size_m2__gte=filters.size_from)
    if filters.size_to is not None:
        units = units.filter(size_m2__lte=filters.size_to)
    if filters.number:
        units = units.filter(number__icontains=filters.number)
    return units


def _per_local_day(locations: Sequence[Location], now: dt.datetime) -> dict[dt.date, list[str]]:
    """The locations' time zones grouped by the local date `now` falls on there."""
    zones_by_day: dict[dt.date, list[str]] = {}
    for zone in {location.time_zone for location in locations}:
        zones_by_day.setdefault(now.astimezone(zoneinfo.ZoneInfo(zone)).date(), []).append(zone)
    return zones_by_day


@dataclass
class LocationToday:
    """A location's units by state today, and today's move-ins and move-outs."""

    units: int = 0
    occupied: int = 0
    reserved: int = 0
    available: int = 0
    out_of_service: int = 0
    move_ins: int = 0
    move_outs: int = 0

    @property
    def occupancy_percent(self) -> int:
        """Occupied (Locked included) of the units in service or rented, rounded."""
        rentable = self.units - self.out_of_service
        return round(100 * self.occupied / rentable) if rentable else 0


def locations_today(locations: Sequence[Location], now: dt.datetime) -> dict[int, LocationToday]:
    """Each location's `LocationToday` on its own local date: a few queries per date, whatever the
    count of units.

    The states follow `_state_rules`, counted from the booking units that hold or reserve a unit
    today rather than asked of each of the location's units.
    """
    today = {location.pk: LocationToday() for location in locations}
    for location_id, count in (
        Unit.objects.filter(location__in=locations)
        .exclude(status=UnitStatus.RETIRED)
        .order_by()
        .values_list("location_id")
        .annotate(n=Count("pk"))
    ):
        today[location_id].units += count
    for day, zones in _per_local_day(locations, now).items():
        here = [location.pk for location in locations if location.time_zone in zones]
        _count_states(today, here, day, now)
        _count_moves(today, here, day)
    return today


def _count_states(
    today: dict[int, LocationToday], location_ids: list[int], day: dt.date, now: dt.datetime
) -> None:
    """Occupied (a booking unit holds the unit: Locked too), Out of service (and not held),
    Reserved (a later booking unit, the unit Available and not held), Available the rest: the
    order of `_state_rules`, counted in the database."""
    held = BookingUnit.objects.filter(_holding(day, now), unit__location__in=location_ids).exclude(
        unit__status=UnitStatus.RETIRED
    )
    not_held = ~Exists(BookingUnit.objects.filter(_holding(day, now), unit=OuterRef("unit")))
    counts = {
        "occupied": held.values_list("unit__location_id").annotate(n=Count("unit", distinct=True)),
        "out_of_service": Unit.objects.filter(location__in=location_ids, status=UnitStatus.OUT_OF_SERVICE)
        .filter(~Exists(BookingUnit.objects.filter(_holding(day, now), unit=OuterRef("pk"))))
        .values_list("location_id")
        .annotate(n=Count("pk")),
        "reserved": BookingUnit.objects.filter(
            unit__location__in=location_ids,
            unit__status=UnitStatus.AVAILABLE,
            is_cancelled=False,
            starts_on__gt=day,
        )
        .filter(not_held)
        .values_list("unit__location_id")
        .annotate(n=Count("unit", distinct=True)),
    }
    for state, rows in counts.items():
        for location_id, count in rows.order_by():
            setattr(today[location_id], state, count)
    for location_id in location_ids:
        counted = today[location_id]
        counted.available = counted.units - counted.occupied - counted.out_of_service - counted.reserved


def _count_moves(today: dict[int, LocationToday], location_ids: list[int], day: dt.date) -> None:
    """Today's move-ins and move-outs, each read off its index (location and day)."""
    confirmed = Booking.objects.filter(location__in=location_ids, status=BookingStatus.CONFIRMED).order_by()
    for field, name in (("starts_on", "move_ins"), ("ends_on", "move_outs")):
        counted = confirmed.filter(**{field: day}).values_list("location_id").annotate(n=Count("pk"))
        for location_id, count in counted:
            setattr(today[location_id], name, count)


CHART_MONTHS = 12


def month_ends(today: dt.date, months: int = CHART_MONTHS) -> list[dt.date]:
    """The last day of each of the last `months` months, oldest first; today for this month."""
    days = [today]
    first_of_month = today.replace(day=1)
    for _ in range(months - 1):
        days.append(first_of_month - dt.timedelta(days=1))
        first_of_month = days[-1].replace(day=1)
    return days[::-1]


def occupied_at_past_month_ends(locations: Sequence[Location], now: dt.datetime) -> dict[int, list[int]]:
    """Per location, its units occupied on each of `month_ends` of its local today but today: what
    the chart's past months show. History barely changes, and counting it reads a year of booking
    units, so the figures are kept until a location's local date changes; a back-dated change shows
    the next day. Two cache requests, and one query when they are not kept yet."""
    days = sorted((location.pk, now.astimezone(location.zone).date().isoformat()) for location in locations)
    key = "occupancy-chart:" + hashlib.sha256(repr(days).encode()).hexdigest()
    counts: dict[int, list[int]] | None = cache.get(key)
    if counts is None:
        counts = _occupied_at_month_ends(locations, now)
        cache.set(key, counts, timeout=24 * 60 * 60)
    return counts


def _occupied_at_month_ends(locations: Sequence[Location], now: dt.datetime) -> dict[int, list[int]]:
    """Per location, its units occupied on each past month-end of `month_ends`: one query."""
    points: list[Q] = [Q(pk__in=[]) for _ in range(CHART_MONTHS - 1)]
    days: set[dt.date] = set()
    for today, zones in _per_local_day(locations, now).items():
        for index, day in enumerate(month_ends(today)[:-1]):
            points[index] |= Q(unit__location__time_zone__in=zones) & occupied_on(day)
            days.add(day)
    # Only the booking units that overlap the chart's months are read.
    overlapping = Q(starts_on__lte=max(days, default=now.date())) & (
        Q(ends_on__isnull=True) | Q(ends_on__gte=min(days, default=now.date()))
    )
    rows = (
        BookingUnit.objects.filter(overlapping, unit__location__in=locations, is_cancelled=False)
        .order_by()
        .values_list("unit__location_id")
        .annotate(
            **{
                f"month_{index}": Count("unit", distinct=True, filter=point)
                for index, point in enumerate(points)
            }
        )
    )
    counts = {location.pk: [0] * (CHART_MONTHS - 1) for location in locations}
    for location_id, *occupied in rows:
        counts[location_id] = occupied
    return counts

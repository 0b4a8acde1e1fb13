import datetime as dt
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404

from keyport.bookings.models import Booking, BookingStatus, BookingUnit
from keyport.facilities.models import Location, Unit, UnitStatus, UnitType
from keyport.facilities.queries import occupied_on
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def get_booking_for_staff(user: StaffUser, booking_id: int) -> Booking:
    try:
        return (
            Booking.objects.select_related("location", "customer")
            .prefetch_related("units")
            .get(pk=booking_id, location__in=locations_for_staff(user))
        )
    except Booking.DoesNotExist:
        raise Http404("No such booking.") from None


def get_booking_for_operator(user: StaffUser, booking_id: int) -> Booking:
    """A booking to run (Revoke / Restore access, Retry): owners and managers of its location."""
    booking = get_booking_for_staff(user, booking_id)
    if not user.can_operate_location(booking.location):
        raise PermissionDenied
    return booking


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


def _state(*, held: Q, locked: Q, reserved: Q) -> Case:
    """A unit rented is Occupied (Locked when overdue) whatever its service status; a unit not
    rented is Out of service, Reserved by a later booking, or Available."""
    return Case(
        When(Exists(BookingUnit.objects.filter(held & locked, unit=OuterRef("pk"))), then=Value("locked")),
        When(Exists(BookingUnit.objects.filter(held, unit=OuterRef("pk"))), then=Value("occupied")),
        When(status=UnitStatus.OUT_OF_SERVICE, then=Value("out_of_service")),
        When(Exists(BookingUnit.objects.filter(reserved, unit=OuterRef("pk"))), then=Value("reserved")),
        default=Value("available"),
        output_field=models.CharField(),
    )


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


def units_on_day(
    location: Location, day: dt.date, now: dt.datetime, filters: UnitFilters = UnitFilters()
) -> QuerySet[Unit]:
    """The location's units in service or out of it (not retired), each with `state` on this day
    and `tenant_booking_id`: the booking holding it, else the next one reserving it.

    The state "occupied" filters for Locked units too: they are occupied, and the Overview counts
    them so.
    """
    instant = _read_at(location, day, now)
    held = _holding(day, instant)
    reserved = Q(is_cancelled=False, starts_on__gt=day)
    units = (
        location.units.exclude(status=UnitStatus.RETIRED)
        .select_related("unit_type")
        .annotate(
            state=_state(held=held, locked=_held_by_locked(instant), reserved=reserved),
            tenant_booking_id=Coalesce(
                Subquery(BookingUnit.objects.filter(held, unit=OuterRef("pk")).values("booking_id")[:1]),
                Subquery(
                    BookingUnit.objects.filter(reserved, unit=OuterRef("pk"))
                    .order_by("starts_on")
                    .values("booking_id")[:1]
                ),
            ),
        )
    )
    return _filtered(units, filters).prefetch_related("access_points").order_by("number", "pk")


def _filtered(units: QuerySet[Unit], filters: UnitFilters) -> QuerySet[Unit]:
    if filters.state == UnitState.OCCUPIED:
        units = units.filter(Q(state__in=[UnitState.OCCUPIED, UnitState.LOCKED]))
    elif filters.state:
        units = units.filter(Q(state=filters.state))
    if filters.unit_type_id is not None:
        units = units.filter(unit_type_id=filters.unit_type_id)
    if filters.size_from is not None:
        units = units.filter(size_m2__gte=filters.size_from)
    if filters.size_to is not None:
        units = units.filter(size_m2__lte=filters.size_to)
    if filters.number:
        units = units.filter(number__icontains=filters.number)
    return units


def with_tenants(units: Iterable[Unit]) -> list[Unit]:
    """A page of `units_on_day`, each unit with `tenant_booking` (None without), in one query."""
    units = list(units)
    ids = {unit.tenant_booking_id for unit in units if unit.tenant_booking_id}  # type: ignore[attr-defined]
    bookings = Booking.objects.filter(pk__in=ids).select_related("customer").in_bulk()
    for unit in units:
        unit.tenant_booking = bookings.get(unit.tenant_booking_id)  # type: ignore[attr-defined]
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
    """Each location's `LocationToday` on its own local date: two queries, whatever the count."""
    held = reserved = starts_today = ends_today = Q(pk__in=[])
    for day, zones in _per_local_day(locations, now).items():
        in_zone = Q(location__time_zone__in=zones)
        held |= Q(unit__location__time_zone__in=zones) & _holding(day, now)
        reserved |= Q(unit__location__time_zone__in=zones, is_cancelled=False, starts_on__gt=day)
        starts_today |= in_zone & Q(starts_on=day)
        ends_today |= in_zone & Q(ends_on=day)
    state = _state(held=held, locked=_held_by_locked(now), reserved=reserved)
    today = {location.pk: LocationToday() for location in locations}
    rows = (
        Unit.objects.filter(location__in=locations)
        .exclude(status=UnitStatus.RETIRED)
        .annotate(state=state)
        .order_by()
        .values_list("location_id", "state")
        .annotate(n=Count("pk"))
    )
    for location_id, unit_state, count in rows:
        counts = today[location_id]
        counts.units += count
        if unit_state in (UnitState.OCCUPIED, UnitState.LOCKED):
            counts.occupied += count
        else:
            setattr(counts, unit_state, getattr(counts, unit_state) + count)
    moves = (
        Booking.objects.filter(location__in=locations, status=BookingStatus.CONFIRMED)
        .order_by()
        .values_list("location_id")
        .annotate(move_ins=Count("pk", filter=starts_today), move_outs=Count("pk", filter=ends_today))
    )
    for location_id, move_ins, move_outs in moves:
        today[location_id].move_ins, today[location_id].move_outs = move_ins, move_outs
    return today


CHART_MONTHS = 12


def month_ends(today: dt.date, months: int = CHART_MONTHS) -> list[dt.date]:
    """The last day of each of the last `months` months, oldest first; today for this month."""
    days = [today]
    first_of_month = today.replace(day=1)
    for _ in range(months - 1):
        days.append(first_of_month - dt.timedelta(days=1))
        first_of_month = days[-1].replace(day=1)
    return days[::-1]


def occupied_at_month_ends(locations: Sequence[Location], now: dt.datetime) -> dict[int, list[int]]:
    """Per location, its units occupied on each of `month_ends` of its local today: one query."""
    points: list[Q] = [Q(pk__in=[]) for _ in range(CHART_MONTHS)]
    days: set[dt.date] = set()
    for today, zones in _per_local_day(locations, now).items():
        for index, day in enumerate(month_ends(today)):
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
    counts = {location.pk: [0] * CHART_MONTHS for location in locations}
    for location_id, *occupied in rows:
        counts[location_id] = occupied
    return counts


def get_unit_for_operator(user: StaffUser, unit_id: int) -> Unit:
    """A unit to edit, retire or take out of service: owners and managers of its location."""
    try:
        unit = (
            Unit.objects.select_related("location", "unit_type")
            .exclude(status=UnitStatus.RETIRED)
            .get(pk=unit_id, location__in=locations_for_staff(user))
        )
    except Unit.DoesNotExist:
        raise Http404("No such unit.") from None
    if not user.can_operate_location(unit.location):
        raise PermissionDenied
    return unit


def get_unit_type_for_operator(user: StaffUser, unit_type_id: int) -> UnitType:
    """A unit type to edit, retire or delete: owners and managers of its location."""
    try:
        unit_type = UnitType.objects.select_related("location").get(
            pk=unit_type_id, location__in=locations_for_staff(user)
        )
    except UnitType.DoesNotExist:
        raise Http404("No such unit type.") from None
    if not user.can_operate_location(unit_type.location):
        raise PermissionDenied
    return unit_type


def unit_types_of(location: Location) -> QuerySet[UnitType]:
    """The location's unit types, each with `unit_count`: how many units (not retired) have it."""
    return location.unit_types.annotate(
        unit_count=Count("units", filter=~Q(units__status=UnitStatus.RETIRED))
    ).order_by(F("retired_at").asc(nulls_first=True), "name")

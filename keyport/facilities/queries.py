import datetime as dt
import zoneinfo

from django.db.models import Exists, OuterRef, Q, QuerySet

from keyport.bookings.models import BookingUnit
from keyport.facilities.models import AccessPoint, Branding, Location, Unit, UnitAccessPoint
from keyport.lib.counts import count_per


def occupied_on(day: dt.date) -> Q:
    """Booking units that hold their unit on this day."""
    return Q(is_cancelled=False, starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def occupied_at(locations: QuerySet[Location], when: dt.datetime) -> Q:
    """Booking units that hold their unit on the day `when` falls on at the unit's own location."""
    zones_by_day: dict[dt.date, list[str]] = {}
    for zone in locations.order_by().values_list("time_zone", flat=True).distinct():
        zones_by_day.setdefault(when.astimezone(zoneinfo.ZoneInfo(zone)).date(), []).append(zone)
    occupied = Q(pk__in=[])
    for day, zones in zones_by_day.items():
        occupied |= Q(unit__location__time_zone__in=zones) & occupied_on(day)
    return occupied


def locations_with_counts(locations: QuerySet[Location], now: dt.datetime) -> QuerySet[Location]:
    """Each location with its unit, occupancy (on its own local date), access point and
    unmapped-unit counts (one query, after one for the locations' time zones)."""
    return locations.annotate(
        unit_count=count_per(Unit.objects.all(), "location", "pk"),
        occupied_count=count_per(
            BookingUnit.objects.filter(occupied_at(locations, now)), "unit__location", "pk", counted="unit"
        ),
        access_point_count=count_per(AccessPoint.objects.all(), "location", "pk"),
        unmapped_count=count_per(
            Unit.objects.filter(access_mappings__isnull=True), "location", "pk", counted="pk"
        ),
    )


def location_named_by(raw_id: str) -> Location | None:
    """The location a public page's address names by its id (/login/?location=3); None for anything else."""
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        return None
    return Location.objects.filter(pk=int(raw_id)).first()


def branding_for(location: Location | None) -> Branding:
    """A location's branding; without a location, the only location's, else the install's default."""
    if location is None:
        locations = list(Location.objects.order_by("pk")[:2])
        location = locations[0] if len(locations) == 1 else None
    return location.branding() if location is not None else Branding.default()


def units_of_location(location: Location, today: dt.date) -> QuerySet[Unit]:
    return (
        location.units.all()
        .annotate(
            is_mapped=Exists(UnitAccessPoint.objects.filter(unit=OuterRef("pk"))),
            is_occupied=Exists(BookingUnit.objects.filter(occupied_on(today), unit=OuterRef("pk"))),
        )
        .prefetch_related("access_points")
        .order_by("number")
    )

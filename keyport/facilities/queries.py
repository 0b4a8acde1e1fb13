import datetime as dt

from django.db.models import Q, QuerySet

from keyport.facilities.models import (
    ACCESS_POINT_IN_SERVICE,
    AccessPoint,
    Branding,
    Location,
    Unit,
    UnitStatus,
)
from keyport.lib.counts import count_per


def occupied_on(day: dt.date) -> Q:
    """Booking units that hold their unit on this day."""
    return Q(is_cancelled=False, starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def locations_with_counts(locations: QuerySet[Location]) -> QuerySet[Location]:
    """Each location with its access point and unmapped-unit counts (one query)."""
    return locations.annotate(
        access_point_count=count_per(AccessPoint.objects.filter(ACCESS_POINT_IN_SERVICE), "location", "pk"),
        unmapped_count=count_per(
            Unit.objects.filter(access_mappings__isnull=True).exclude(status=UnitStatus.RETIRED),
            "location",
            "pk",
            counted="pk",
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

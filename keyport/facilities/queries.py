import datetime as dt
from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from keyport.bookings.models import BookingUnit
from keyport.facilities.models import AccessPoint, Location, Unit, UnitAccessPoint


def occupied_on(day: dt.date) -> Q:
    """Booking units that hold their unit on this day."""
    return Q(is_cancelled=False, starts_on__lte=day) & (Q(ends_on__isnull=True) | Q(ends_on__gte=day))


def _count_per_location(queryset: QuerySet[Any], location_field: str, counted: str) -> Coalesce:
    per_location = (
        queryset.filter(**{location_field: OuterRef("pk")})
        .order_by()
        .values(location_field)
        .annotate(n=Count(counted, distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(per_location, output_field=IntegerField()), 0)


def locations_with_counts(locations: QuerySet[Location], today: dt.date) -> QuerySet[Location]:
    """Each location with its unit, occupancy, access point and unmapped-unit counts (one query)."""
    return locations.annotate(
        unit_count=_count_per_location(Unit.objects.all(), "location", "pk"),
        occupied_count=_count_per_location(
            BookingUnit.objects.filter(occupied_on(today)), "unit__location", "unit"
        ),
        access_point_count=_count_per_location(AccessPoint.objects.all(), "location", "pk"),
        unmapped_count=_count_per_location(
            Unit.objects.filter(access_mappings__isnull=True), "location", "pk"
        ),
    )


def get_location_for_staff(locations: QuerySet[Location], location_id: int) -> Location:
    try:
        return locations.get(pk=location_id)
    except Location.DoesNotExist:
        raise Http404("No such location.") from None


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

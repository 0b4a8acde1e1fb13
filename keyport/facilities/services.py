import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from keyport.audit.services import Actor, audit_record
from keyport.facilities.mapping_import import read_mapping_csv
from keyport.facilities.models import (
    AccessPoint,
    AccessProvider,
    Location,
    OpeningHours,
    Unit,
    UnitAccessPoint,
    UnitKind,
    UnitStatus,
)


@transaction.atomic
def location_create(
    *,
    actor: Actor,
    name: str,
    street: str,
    postal_code: str,
    city: str,
    country: str,
    time_zone: str,
    access_provider: str = AccessProvider.BUILTIN,
) -> Location:
    location = Location(
        name=name.strip(),
        street=street.strip(),
        postal_code=postal_code.strip(),
        city=city.strip(),
        country=country.strip().upper(),
        time_zone=time_zone,
        access_provider=access_provider,
    )
    location.full_clean()
    location.save()
    audit_record(actor=actor, action="location.created", target=location, location=location)
    return location


LOCATION_SETTINGS_FIELDS = ("name", "street", "postal_code", "city", "country", "time_zone")


@transaction.atomic
def location_update(*, actor: Actor, location: Location, **changes: str) -> Location:
    """Change a location's name, address or time zone; the audit entry keeps the old values."""
    unknown = set(changes) - set(LOCATION_SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Not location settings: {', '.join(sorted(unknown))}")
    location = Location.objects.select_for_update().get(pk=location.pk)
    changed = {}
    for name, value in changes.items():
        value = value.strip().upper() if name == "country" else value.strip()
        if getattr(location, name) != value:
            changed[name] = [getattr(location, name), value]
            setattr(location, name, value)
    if not changed:
        return location
    location.full_clean()
    location.save(update_fields=list(changed))
    audit_record(
        actor=actor,
        action="location.updated",
        target=location,
        location=location,
        details={"changed": changed},
    )
    return location


@transaction.atomic
def location_set_opening_hours(
    *, actor: Actor, location: Location, hours: Iterable[tuple[int, dt.time, dt.time]]
) -> list[OpeningHours]:
    """Replace the location's opening hours; an empty list means open around the clock."""
    periods = [
        OpeningHours(location=location, weekday=weekday, opens_at=opens_at, closes_at=closes_at)
        for weekday, opens_at, closes_at in hours
    ]
    for period in periods:
        period.full_clean(exclude=["location"])
    location.opening_hours.all().delete()
    OpeningHours.objects.bulk_create(periods)
    audit_record(
        actor=actor,
        action="location.opening_hours_set",
        target=location,
        location=location,
        details={"hours": [str(period) for period in periods]},
    )
    return periods


@transaction.atomic
def unit_create(
    *,
    actor: Actor,
    location: Location,
    number: str,
    kind: str = UnitKind.STORAGE_UNIT,
    size_m2: Decimal,
    status: str = UnitStatus.AVAILABLE,
) -> Unit:
    unit = Unit(location=location, number=number.strip(), kind=kind, size_m2=size_m2, status=status)
    unit.full_clean()
    unit.save()
    audit_record(actor=actor, action="unit.created", target=unit, location=location)
    return unit


@transaction.atomic
def access_point_create(
    *, actor: Actor, location: Location, name: str, kind: str, external_id: str
) -> AccessPoint:
    access_point = AccessPoint(
        location=location, name=name.strip(), kind=kind, external_id=external_id.strip()
    )
    access_point.full_clean()
    access_point.save()
    audit_record(actor=actor, action="access_point.created", target=access_point, location=location)
    return access_point


@transaction.atomic
def unit_map_access_points(
    *, actor: Actor, unit: Unit, access_points: Iterable[AccessPoint]
) -> list[AccessPoint]:
    """Set which access points open for this unit's holders (replacing the previous mapping)."""
    wanted = {access_point.pk: access_point for access_point in access_points}
    foreign = [ap.name for ap in wanted.values() if ap.location_id != unit.location_id]
    if foreign:
        raise ValidationError(
            {"access_points": f"Not at this unit's location: {', '.join(sorted(foreign))}."}
        )
    current = set(unit.access_mappings.values_list("access_point_id", flat=True))
    added, removed = set(wanted) - current, current - set(wanted)
    if not added and not removed:
        return list(wanted.values())
    unit.access_mappings.filter(access_point_id__in=removed).delete()
    UnitAccessPoint.objects.bulk_create(
        [UnitAccessPoint(unit=unit, access_point_id=pk) for pk in sorted(added)]
    )
    audit_record(
        actor=actor,
        action="unit.access_mapped",
        target=unit,
        location=unit.location,
        details={
            "added": sorted(wanted[pk].external_id for pk in added),
            "removed": sorted(
                AccessPoint.objects.filter(pk__in=removed).values_list("external_id", flat=True)
            ),
        },
    )
    return list(wanted.values())


@transaction.atomic
def unit_mappings_import(*, actor: Actor, location: Location, data: bytes) -> int:
    """Map many units at once from a CSV; any bad row refuses the whole file, naming each line."""
    plan = read_mapping_csv(location, data)
    if plan.errors:
        raise ValidationError({"file": plan.errors})
    for unit, access_points in plan.rows.items():
        unit_map_access_points(actor=actor, unit=unit, access_points=access_points)
    return len(plan.rows)

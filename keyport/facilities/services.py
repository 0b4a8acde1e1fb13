"""Every write of facilities: locations and their opening hours, unit types, units, access points
and the CSV imports. A location's branding has its own module, `branding`."""

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet

from keyport.audit.services import Actor, audit_changes, audit_record
from keyport.facilities.models import (
    AccessPoint,
    AccessProvider,
    Location,
    OpeningHours,
    Unit,
    UnitAccessPoint,
    UnitKind,
    UnitStatus,
    UnitType,
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
    """Change a location's name, address or time zone; the audit entry keeps the old values.

    A new time zone moves the location's grants too: change it through access's
    location_details_update.
    """
    unknown = set(changes) - set(LOCATION_SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"Not location settings: {', '.join(sorted(unknown))}")
    location = Location.objects.select_for_update().get(pk=location.pk)
    changed: dict[str, object] = {}
    for name, value in changes.items():
        value = value.strip().upper() if name == "country" else value.strip()
        if getattr(location, name) != value:
            changed[name] = [getattr(location, name), value]
            setattr(location, name, value)
    if not changed:
        return location
    location.full_clean()
    _save_changes(actor, location, changed, action="location.updated", location=location)
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
    unit_type: UnitType | None = None,
) -> Unit:
    _check_unit_type(location.pk, unit_type, None)
    unit = Unit(
        location=location,
        number=number.strip(),
        kind=kind,
        size_m2=size_m2,
        status=status,
        unit_type=unit_type,
    )
    _check_number_free(unit)
    unit.full_clean()
    unit.save()
    audit_record(actor=actor, action="unit.created", target=unit, location=location)
    return unit


@transaction.atomic
def unit_type_create(
    *, actor: Actor, location: Location, name: str, width_m: Decimal, depth_m: Decimal, monthly_price: Decimal
) -> UnitType:
    unit_type = UnitType(
        location=location, name=name.strip(), width_m=width_m, depth_m=depth_m, monthly_price=monthly_price
    )
    _check_type_name_free(unit_type)
    unit_type.full_clean()
    unit_type.save()
    audit_record(
        actor=actor,
        action="unit_type.created",
        target=unit_type,
        location=location,
        details={"size": unit_type.dimensions, "monthly_price": str(monthly_price)},
    )
    return unit_type


UNIT_TYPE_FIELDS = ("name", "width_m", "depth_m", "monthly_price")


@transaction.atomic
def unit_type_update(*, actor: Actor, unit_type: UnitType, **changes: object) -> UnitType:
    """Change a unit type's name, size or monthly price; the audit entry keeps the old values.

    Units of the type offer the new price from now on; rents already agreed stay as they are.
    """
    unit_type = UnitType.objects.select_for_update().get(pk=unit_type.pk)
    changed = _apply_changes(unit_type, changes, UNIT_TYPE_FIELDS)
    _check_type_name_free(unit_type)
    unit_type.full_clean()
    _save_changes(actor, unit_type, changed, action="unit_type.updated", location=unit_type.location)
    return unit_type


@transaction.atomic
def unit_type_retire(*, actor: Actor, unit_type: UnitType, now: dt.datetime) -> UnitType:
    """Offer the type no more for new units; the units that have it keep it."""
    unit_type = UnitType.objects.select_for_update().get(pk=unit_type.pk)
    if unit_type.retired_at is None:
        unit_type.retired_at = now
        unit_type.save(update_fields=["retired_at"])
        audit_record(actor=actor, action="unit_type.retired", target=unit_type, location=unit_type.location)
    return unit_type


@transaction.atomic
def unit_type_delete(*, actor: Actor, unit_type: UnitType) -> None:
    """Delete a type no unit has ever had; a type in use can only be retired."""
    unit_type = UnitType.objects.select_for_update().get(pk=unit_type.pk)
    in_use = unit_type.units.count()
    if in_use:
        raise ValidationError(
            {"unit_type": f"{in_use} unit{'s have' if in_use > 1 else ' has'} this type: retire it instead."}
        )
    audit_record(actor=actor, action="unit_type.deleted", target=unit_type, location=unit_type.location)
    unit_type.delete()


UNIT_FIELDS = ("number", "kind", "size_m2", "unit_type")


@transaction.atomic
def unit_update(*, actor: Actor, unit: Unit, **changes: object) -> Unit:
    """Change a unit's number, kind, size or type (of its own location, not retired)."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    unit_type = changes.get("unit_type", unit.unit_type)
    _check_unit_type(unit.location_id, unit_type, unit.unit_type_id)  # type: ignore[arg-type]
    changed = _apply_changes(unit, changes, UNIT_FIELDS)
    _check_number_free(unit)
    unit.full_clean()
    _save_changes(actor, unit, changed, action="unit.updated", location=unit.location)
    return unit


def _save_changes(
    actor: Actor, instance: models.Model, changed: dict[str, object], *, action: str, location: Location
) -> None:
    """Save the fields that changed, audited with their old values; nothing when none did."""
    if changed:
        instance.save(update_fields=list(changed))
        audit_changes(actor=actor, action=action, target=instance, location=location, changed=changed)


def _check_type_name_free(unit_type: UnitType) -> None:
    """Type names are told apart without regard to case (the units import reads them so)."""
    taken = UnitType.objects.filter(location_id=unit_type.location_id, name__iexact=unit_type.name)
    if unit_type.name and taken.exclude(pk=unit_type.pk).exists():
        raise ValidationError({"name": f"There is already a unit type {unit_type.name} at this location."})


def _check_number_free(unit: Unit) -> None:
    """Unit numbers are told apart without regard to case (the CSV imports read them so)."""
    taken = Unit.objects.filter(location_id=unit.location_id, number__iexact=unit.number).exclude(pk=unit.pk)
    if unit.number and taken.exists():
        raise ValidationError({"number": f"There is already a unit {unit.number} at this location."})


def _check_unit_type(location_id: int, unit_type: UnitType | None, current_type_id: int | None) -> None:
    if unit_type is None:
        return
    if unit_type.location_id != location_id:
        raise ValidationError({"unit_type": "This unit type belongs to another location."})
    if unit_type.retired_at is not None and unit_type.pk != current_type_id:
        raise ValidationError({"unit_type": "This unit type is retired; choose one still offered."})


def _apply_changes(
    instance: models.Model, changes: dict[str, object], allowed: Iterable[str]
) -> dict[str, object]:
    """Set the changed fields on the instance (text stripped); the changes as [old, new] strings
    for the audit."""
    unknown = set(changes) - set(allowed)
    if unknown:
        raise TypeError(f"Not changeable here: {', '.join(sorted(unknown))}")
    changed: dict[str, object] = {}
    for name, given in changes.items():
        value = given.strip() if isinstance(given, str) else given
        old = getattr(instance, name)
        if old != value:
            changed[name] = [str(old) if old is not None else "", str(value) if value is not None else ""]
            setattr(instance, name, value)
    return changed


def _booked_from(unit: Unit, today: dt.date) -> bool:
    """Whether a booking holds the unit today or later (cancelled ones aside)."""
    return (
        unit.booking_units.filter(is_cancelled=False)
        .filter(models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=today))
        .exists()
    )


@transaction.atomic
def unit_retire(*, actor: Actor, unit: Unit) -> Unit:
    """Take a unit out of the list for good; refused while a booking holds it now or later."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    if _booked_from(unit, unit.location.local_now().date()):
        raise ValidationError(
            {"unit": f"Unit {unit.number} has a current or future booking: move it out or cancel it first."}
        )
    if unit.status != UnitStatus.RETIRED:
        unit.status = UnitStatus.RETIRED
        unit.save(update_fields=["status"])
        audit_record(actor=actor, action="unit.retired", target=unit, location=unit.location)
    return unit


@transaction.atomic
def unit_set_out_of_service(*, actor: Actor, unit: Unit, reason: str) -> Unit:
    """Out of service (never offered for a move-in) with the reason staff see on the Units page."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"out_of_service_reason": "Say why the unit is out of service."})
    if unit.status == UnitStatus.RETIRED:
        raise ValidationError({"out_of_service_reason": f"Unit {unit.number} is retired."})
    unit.status, unit.out_of_service_reason = UnitStatus.OUT_OF_SERVICE, reason
    unit.full_clean()
    unit.save(update_fields=["status", "out_of_service_reason"])
    audit_record(
        actor=actor,
        action="unit.out_of_service",
        target=unit,
        location=unit.location,
        details={"reason": reason},
    )
    return unit


@transaction.atomic
def unit_set_in_service(*, actor: Actor, unit: Unit) -> Unit:
    """Back in service: offered for move-ins again."""
    unit = Unit.objects.select_for_update().get(pk=unit.pk)
    if unit.status != UnitStatus.OUT_OF_SERVICE:
        return unit
    unit.status, unit.out_of_service_reason = UnitStatus.AVAILABLE, ""
    unit.save(update_fields=["status", "out_of_service_reason"])
    audit_record(actor=actor, action="unit.in_service", target=unit, location=unit.location)
    return unit


@transaction.atomic
def access_point_create(
    *, actor: Actor, location: Location, name: str, kind: str, external_id: str
) -> AccessPoint:
    """A new gate, door, unit lock or elevator, with the identifier its provider (or keypad) knows it by."""
    access_point = AccessPoint(
        location=location, name=name.strip(), kind=kind, external_id=external_id.strip()
    )
    _check_access_point_named(access_point)
    _check_external_id_free(access_point)
    access_point.full_clean()
    access_point.save()
    audit_record(
        actor=actor,
        action="access_point.created",
        target=access_point,
        location=location,
        details={"kind": kind, "external_id": access_point.external_id},
    )
    return access_point


@transaction.atomic
def access_point_rename(*, actor: Actor, access_point: AccessPoint, name: str) -> AccessPoint:
    """A new name for staff and tenants to know the access point by; its identifier stays."""
    access_point = AccessPoint.objects.select_for_update().get(pk=access_point.pk)
    if access_point.retired_at is not None:
        raise ValidationError({"name": f"{access_point.name} is retired: its name stays as it was."})
    changed = _apply_changes(access_point, {"name": name}, ["name"])
    _check_access_point_named(access_point)
    access_point.full_clean()
    _save_changes(actor, access_point, changed, action="access_point.renamed", location=access_point.location)
    return access_point


def _check_access_point_named(access_point: AccessPoint) -> None:
    if not access_point.name:
        raise ValidationError({"name": "Give the access point a name, for example Main gate."})
    if not access_point.external_id:
        raise ValidationError({"external_id": "Enter the identifier the provider or keypad knows it by."})


def _check_external_id_free(access_point: AccessPoint) -> None:
    """External identifiers are told apart without regard to case (the CSV imports read them so),
    and a retired access point keeps its own: its events still name it."""
    taken = (
        AccessPoint.objects.filter(
            location_id=access_point.location_id, external_id__iexact=access_point.external_id
        )
        .exclude(pk=access_point.pk)
        .first()
    )
    if taken is not None:
        retired = " (retired)" if taken.retired_at is not None else ""
        raise ValidationError(
            {"external_id": f"{taken.name}{retired} already has the identifier {taken.external_id} here."}
        )


def access_points_elsewhere(location_id: int, access_points: Iterable[AccessPoint]) -> str:
    """The message for access points that are not at the unit's location, or "" when all are."""
    foreign = sorted(ap.name for ap in access_points if ap.location_id != location_id)
    return f"Not at this unit's location: {', '.join(foreign)}." if foreign else ""


def _access_points_retired(access_point_ids: Iterable[int]) -> str:
    """The message for those of these access points that are retired (read now, not from the
    objects given, which may be older), or "" when none is."""
    ids = list(access_point_ids)
    if not ids:
        return ""
    retired = AccessPoint.objects.filter(pk__in=ids, retired_at__isnull=False)
    names = sorted(retired.values_list("name", flat=True))
    return f"Retired, they open nothing: {', '.join(names)}." if names else ""


@transaction.atomic
def access_point_map_units(*, actor: Actor, access_point: AccessPoint, units: Iterable[Unit]) -> list[Unit]:
    """Set which units this access point serves (replacing the previous mapping): who holds one of
    them can open it. Units of another location and a retired access point are refused."""
    wanted = {unit.pk: unit for unit in units}
    foreign = sorted(unit.number for unit in wanted.values() if unit.location_id != access_point.location_id)
    if foreign:
        raise ValidationError({"units": f"Not at this access point's location: {', '.join(foreign)}."})
    # Locked, so that a retirement or another change of this mapping applies before or after this one.
    access_point = AccessPoint.objects.select_for_update().select_related("location").get(pk=access_point.pk)
    if access_point.retired_at is not None:
        raise ValidationError({"units": f"{access_point.name} is retired: it serves no units."})
    removed_numbers = sorted(
        access_point.unit_mappings.exclude(unit_id__in=wanted).values_list("unit__number", flat=True)
    )
    added, removed = _mappings_replace(
        access_point.unit_mappings.all(),
        "unit_id",
        set(wanted),
        lambda pk: UnitAccessPoint(unit_id=pk, access_point=access_point),
    )
    if not added and not removed:
        return list(wanted.values())
    audit_record(
        actor=actor,
        action="access_point.units_mapped",
        target=access_point,
        location=access_point.location,
        details={"added": sorted(wanted[pk].number for pk in added), "removed": removed_numbers},
    )
    return list(wanted.values())


@transaction.atomic
def unit_map_access_points(
    *, actor: Actor, unit: Unit, access_points: Iterable[AccessPoint]
) -> list[AccessPoint]:
    """Set which access points open for this unit's holders (replacing the previous mapping)."""
    wanted = {access_point.pk: access_point for access_point in access_points}
    # Locked, so that two changes of one unit's mapping (an upload and the admin) apply one
    # after the other, each reading what the other wrote; and the access points too, so that one
    # retired meanwhile is read retired here (its retirement removes its mappings).
    Unit.objects.select_for_update().get(pk=unit.pk)
    list(AccessPoint.objects.select_for_update().filter(pk__in=sorted(wanted)).order_by("pk"))
    problem = access_points_elsewhere(unit.location_id, wanted.values()) or _access_points_retired(wanted)
    if problem:
        raise ValidationError({"access_points": problem})
    added, removed = _mappings_replace(
        unit.access_mappings.all(),
        "access_point_id",
        set(wanted),
        lambda pk: UnitAccessPoint(unit=unit, access_point_id=pk),
    )
    if not added and not removed:
        return list(wanted.values())
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


def _mappings_replace(
    mappings: QuerySet[UnitAccessPoint],
    other: str,
    wanted: set[int],
    mapping_to: Callable[[int], UnitAccessPoint],
) -> tuple[set[int], set[int]]:
    """Replace one unit's (or one access point's) mappings with those to the `wanted` ids of the
    other side (`other`: "unit_id" or "access_point_id"): the ids added and removed."""
    current = set(mappings.values_list(other, flat=True))
    added, removed = wanted - current, current - wanted
    mappings.filter(**{f"{other}__in": removed}).delete()
    UnitAccessPoint.objects.bulk_create([mapping_to(pk) for pk in sorted(added)])
    return added, removed

"""The CSV imports of units and of their access points: each file whole or not at all, a line's
error named with its number, every unit made and mapped through the services."""

from django.core.exceptions import ValidationError
from django.db import transaction

from keyport.audit.services import Actor
from keyport.facilities.mapping_import import read_mapping_csv
from keyport.facilities.models import Location, UnitKind
from keyport.facilities.services import unit_create, unit_map_access_points, unit_type_create
from keyport.facilities.units_import import NewType, read_units_csv


@transaction.atomic
def unit_mappings_import(*, actor: Actor, location: Location, data: bytes) -> int:
    """Map many units at once from a CSV; any bad row refuses the whole file, naming each line."""
    plan = read_mapping_csv(location, data)
    if plan.errors:
        raise ValidationError({"file": plan.errors})
    for unit, access_points in plan.rows.items():
        unit_map_access_points(actor=actor, unit=unit, access_points=access_points)
    return len(plan.rows)


@transaction.atomic
def units_import(*, actor: Actor, location: Location, data: bytes, kind: str = UnitKind.STORAGE_UNIT) -> int:
    """Add many units of one kind at once from a CSV (see units_import), creating the new types it
    names; any bad row refuses the whole file, naming each line."""
    plan = read_units_csv(location, data)
    if plan.errors:
        raise ValidationError({"file": plan.errors})
    created = {
        key: unit_type_create(actor=actor, location=location, **new_type.__dict__)
        for key, new_type in plan.new_types.items()
    }
    for row in plan.units:
        unit_type = (
            created[row.unit_type.name.casefold()] if isinstance(row.unit_type, NewType) else row.unit_type
        )
        unit = unit_create(
            actor=actor,
            location=location,
            number=row.number,
            kind=kind,
            size_m2=row.size_m2,
            unit_type=unit_type,
        )
        if row.access_points:
            unit_map_access_points(actor=actor, unit=unit, access_points=row.access_points)
    return len(plan.units)

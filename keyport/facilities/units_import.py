"""Read a CSV of new units: number, type, size, price, then the access points that open for each.

`A101,Small locker,1.5x2,49.00,BER-GATE-1,BER-LOCK-A101`. The size is width × depth in metres
(`1.5x2`) or the floor area in m² (`3`). A type the location has is used as it is: its price cell
stays empty or says the same price. A type it does not have is created from the row when the row
gives its price and its size as width × depth; otherwise the row is refused. A first row starting
with "number" is a header. Every row is checked before anything changes.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError

from keyport.facilities.mapping_import import access_points_named, cell_decimal, csv_rows, csv_text
from keyport.facilities.models import ACCESS_POINT_IN_SERVICE, AccessPoint, Location, Unit, UnitKind, UnitType

WIDTH_BY_DEPTH = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*[x×*]\s*(\d+(?:[.,]\d+)?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class NewType:
    name: str
    width_m: Decimal
    depth_m: Decimal
    monthly_price: Decimal


@dataclass(frozen=True)
class NewUnit:
    number: str
    size_m2: Decimal
    unit_type: UnitType | NewType | None
    access_points: list[AccessPoint]


@dataclass
class UnitsPlan:
    units: list[NewUnit] = field(default_factory=list)
    new_types: dict[str, NewType] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    number: str
    type_name: str
    size: str
    price: str
    identifiers: list[str]


def read_units_csv(location: Location, data: bytes) -> UnitsPlan:
    plan = UnitsPlan()
    text = csv_text(data, plan.errors)
    if text is None:
        return plan
    reader = _UnitsReader(location, plan)
    for line_number, row in enumerate(csv_rows(text, plan.errors), start=1):
        cells = [cell.strip() for cell in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells or (line_number == 1 and cells[0].casefold() in {"number", "unit", "unit number"}):
            continue
        cells += [""] * (4 - len(cells))
        number, type_name, size, price = cells[:4]
        reader.read(_Row(line_number, number, type_name, size, price, [c for c in cells[4:] if c]))
    if not plan.units and not plan.errors:
        plan.errors.append("The file has no rows: one row a unit, e.g. A101,Small locker,1.5x2,49.00,GATE-1.")
    return plan


class _RowRefused(Exception):
    pass


class _UnitsReader:
    def __init__(self, location: Location, plan: UnitsPlan) -> None:
        self.location, self.plan = location, plan
        self.numbers_taken = {number.casefold() for number in location.units.values_list("number", flat=True)}
        self.types = {unit_type.name.casefold(): unit_type for unit_type in location.unit_types.all()}
        self.access_points = {
            point.external_id.casefold(): point
            for point in location.access_points.filter(ACCESS_POINT_IN_SERVICE)
        }
        self.seen: dict[str, int] = {}

    def read(self, row: _Row) -> None:
        try:
            self.plan.units.append(self.new_unit(row))
        except _RowRefused as refusal:
            self.plan.errors.append(f"Line {row.line}: {refusal}")

    def new_unit(self, row: _Row) -> NewUnit:
        key = row.number.casefold()
        if not row.number:
            raise _RowRefused("the unit number is missing.")
        if key in self.numbers_taken:
            raise _RowRefused(f"unit {row.number} already exists at {self.location.name}.")
        if key in self.seen:
            raise _RowRefused(f"unit {row.number} is already on line {self.seen[key]}.")
        self.seen[key] = row.line
        size = _size(row.size)
        if size is None:
            raise _RowRefused(f"the size {row.size!r} is not a number of m² nor width x depth (1.5x2).")
        unit_type = self.unit_type(row, size)
        access_points, problem = access_points_named(row.identifiers, self.access_points, self.location)
        if problem:
            raise _RowRefused(problem)
        area = size if isinstance(size, Decimal) else size[0] * size[1]
        _validated(Unit(location=self.location, number=row.number, kind=UnitKind.STORAGE_UNIT, size_m2=area))
        return NewUnit(row.number, area, unit_type, access_points)

    def unit_type(self, row: _Row, size: Decimal | tuple[Decimal, Decimal]) -> UnitType | NewType | None:
        """The row's type, existing or to create; None for no type."""
        price = cell_decimal(row.price) if row.price else None
        if row.price and (price is None or price < 0):
            raise _RowRefused(f"the price {row.price!r} is not an amount of zero or more.")
        if not row.type_name:
            if price is not None:
                raise _RowRefused("a price needs a unit type: the price is the type's.")
            return None
        key = row.type_name.casefold()
        known = self.types.get(key) or self.plan.new_types.get(key)
        if known is not None:
            if price is not None and price != known.monthly_price:
                raise _RowRefused(
                    f"the type {known.name} costs {known.monthly_price}: "
                    "leave the price empty or give the same."
                )
            return known
        if price is None or isinstance(size, Decimal):
            raise _RowRefused(
                f"there is no unit type {row.type_name!r} at {self.location.name}: give its price and "
                "the size as width x depth (1.5x2) to create it."
            )
        new_type = NewType(row.type_name, size[0], size[1], price)
        _validated(UnitType(location=self.location, **new_type.__dict__))
        self.plan.new_types[key] = new_type
        return new_type


def _validated(instance: Unit | UnitType) -> None:
    """The model's own checks (lengths, digits) of a row, before anything is saved."""
    try:
        instance.full_clean(exclude=["location", "unit_type"], validate_unique=False)
    except ValidationError as error:
        raise _RowRefused(" ".join(error.messages)) from None


def _size(text: str) -> Decimal | tuple[Decimal, Decimal] | None:
    """Width and depth from "1.5x2", or the area from "3"; None for anything else or zero."""
    match = WIDTH_BY_DEPTH.match(text)
    if match:
        width, depth = (Decimal(part.replace(",", ".")) for part in match.groups())
        return (width, depth) if width > 0 and depth > 0 else None
    area = cell_decimal(text)
    return area if area is not None and area > 0 else None

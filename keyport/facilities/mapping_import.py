"""Read a CSV of unit numbers and the access points that open for each.

One row a unit: the unit number, then one external identifier per column
(`A001,BER-GATE-1,BER-DOOR-1,BER-LOCK-A001`). A first row starting with
"unit" is a header. Every row is checked before anything changes.
"""

import codecs
import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TextIO

from django.utils.translation import ngettext

from keyport.facilities.models import ACCESS_POINT_IN_SERVICE, AccessPoint, Location, Unit

MAX_BYTES = 2 * 1024 * 1024


@dataclass
class MappingPlan:
    rows: dict[Unit, list[AccessPoint]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def read_mapping_csv(location: Location, data: bytes) -> MappingPlan:
    plan = MappingPlan()
    text = csv_text(data, plan.errors)
    if text is None:
        return plan
    units = {unit.number.casefold(): unit for unit in location.units.all()}
    access_points = {
        point.external_id.casefold(): point
        for point in location.access_points.filter(ACCESS_POINT_IN_SERVICE)
    }
    seen: dict[str, int] = {}
    for line_number, row in enumerate(csv_rows(text, plan.errors), start=1):
        cells = [cell.strip() for cell in row if cell.strip()]
        if not cells:
            continue
        if line_number == 1 and cells[0].casefold() in {"unit", "unit number"}:
            continue
        number, identifiers = cells[0], cells[1:]
        unit = units.get(number.casefold())
        if unit is None:
            plan.errors.append(f"Line {line_number}: there is no unit {number!r} at {location.name}.")
            continue
        if number.casefold() in seen:
            plan.errors.append(
                f"Line {line_number}: unit {number} is already on line {seen[number.casefold()]}."
            )
            continue
        seen[number.casefold()] = line_number
        if not identifiers:
            plan.errors.append(f"Line {line_number}: unit {number} has no access points after it.")
            continue
        found, problem = access_points_named(identifiers, access_points, location)
        if problem:
            plan.errors.append(f"Line {line_number}: {problem}")
            continue
        plan.rows[unit] = found
    if not plan.rows and not plan.errors:
        plan.errors.append("The file has no rows: one row a unit, e.g. A001,GATE-1,DOOR-1.")
    return plan


# Comma first: a line with none of them, or as many of each, is read as comma-separated.
SEPARATORS = (",", ";", "\t")


def csv_text(data: bytes, errors: list[str]) -> str | None:
    """The upload as text; None, with the reason in `errors`, when too large or not UTF-8."""
    if len(data) > MAX_BYTES:
        errors.append("The file is larger than 2 MB; split it into smaller files.")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors.append("The file is not UTF-8 text; save it as CSV (UTF-8).")
        return None


def access_points_named(
    identifiers: list[str], access_points: dict[str, AccessPoint], location: Location
) -> tuple[list[AccessPoint], str]:
    """The access points of these external identifiers (keyed casefolded in `access_points`),
    and what is wrong with them ("" when nothing)."""
    unknown = [ident for ident in identifiers if ident.casefold() not in access_points]
    if unknown:
        return [], (
            ngettext(
                "unknown access point %(points)s at %(location)s.",
                "unknown access points %(points)s at %(location)s.",
                len(unknown),
            )
            % {"points": ", ".join(unknown), "location": location.name}
        )
    return [access_points[ident.casefold()] for ident in dict.fromkeys(identifiers)], ""


def csv_rows(text: str, errors: list[str]) -> Iterator[list[str]]:
    """The CSV's rows, separated by commas, or by semicolons or tabs as spreadsheets set to German
    or other languages with a decimal comma write them (the separator the first line uses most);
    a row the csv module cannot read (a cell over its size limit) ends the file with an error on
    that line."""
    return _rows(csv.reader(io.StringIO(text), delimiter=_separator(text)), errors)


def csv_file_rows(stream: TextIO, errors: list[str]) -> Iterator[list[str]]:
    """csv_rows of a file read a line at a time, so that memory stays flat however long it is;
    open it with `newline=""` (the csv module's own reading of quoted line breaks)."""
    first_line = stream.readline()
    separator = max(SEPARATORS, key=first_line.count)
    return _rows(csv.reader(itertools.chain([first_line], stream), delimiter=separator), errors)


def _rows(reader: Iterator[list[str]], errors: list[str]) -> Iterator[list[str]]:
    line_number = 0
    while True:
        line_number += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            limit = csv.field_size_limit()
            errors.append(f"Line {line_number}: a cell is longer than {limit} characters.")
            return
        yield row


def _separator(text: str) -> str:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    return max(SEPARATORS, key=first_line.count)


# What spreadsheets save a CSV as: UTF-8 (with or without a byte order mark) or, on Windows set to a
# Western European language, Windows-1252.
ENCODINGS = ("utf-8-sig", "cp1252")


def csv_encoding(chunks: Iterable[bytes]) -> str | None:
    """The first of ENCODINGS that reads every byte of the file, given in chunks; None for none."""
    decoders = {name: codecs.getincrementaldecoder(name)() for name in ENCODINGS}
    for chunk in chunks:
        for name, decoder in list(decoders.items()):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                del decoders[name]
        if not decoders:
            return None
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    return next((name for name in ENCODINGS if name in decoders), None)


def cell_decimal(text: str) -> Decimal | None:
    """An amount as spreadsheets write it: `49.50`, `49,50`, `1.234,50` or `1,234.50` (the last of
    the two marks is the decimal one), with a currency sign or spaces around; None for no number."""
    cleaned = text.strip().strip("€$£").strip().replace(" ", "").replace("\u00a0", "")
    if "," in cleaned and "." in cleaned:
        thousands = "." if cleaned.rindex(",") > cleaned.rindex(".") else ","
        cleaned = cleaned.replace(thousands, "")
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None

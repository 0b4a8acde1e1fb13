"""Reading an uploaded file: its encoding, its lines a chunk at a time from where the last check
stopped, and each line's cells turned into a tenant's (or a contact's) fields, with what is wrong
with them. Reading never writes; the services record what it found."""

import datetime as dt
import hashlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, TextIO

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from keyport.facilities.mapping_import import cell_decimal, csv_encoding, csv_file_rows
from keyport.lib.email_addresses import normalize_email_address, validate_email_address

# Larger files are split by the owner: an import runs a chunk at a time, but one file is one report.
MAX_BYTES = 64 * 1024 * 1024
MAX_LINES = 200_000
READ_CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FileFacts:
    encoding: str
    headers: list[str]


def file_facts(upload: IO[bytes], size: int) -> FileFacts:
    """The encoding and headers of an upload; ValidationError with the reason when it cannot be
    imported as a whole (too large, too many lines, not text, no header)."""
    if size > MAX_BYTES:
        raise ValidationError(_("The file is larger than 64 MB; split it into smaller files."))
    upload.seek(0)
    lines = 0

    def chunks() -> Iterator[bytes]:
        nonlocal lines
        while chunk := upload.read(READ_CHUNK_BYTES):
            lines += chunk.count(b"\n")
            if lines > MAX_LINES + 1:
                raise ValidationError(
                    _("The file has more than %(limit)s lines; split it into files of fewer lines.")
                    % {"limit": f"{MAX_LINES:,}"}
                )
            yield chunk

    encoding = csv_encoding(chunks())
    if encoding is None:
        raise ValidationError(_("The file is not text; save it as CSV (UTF-8)."))
    upload.seek(0)
    errors: list[str] = []
    with _text(upload, encoding) as text:
        header = next(csv_file_rows(text, errors), None)
    if errors:
        raise ValidationError(errors[0])
    headers = [cell.strip() for cell in header or []]
    if not any(headers):
        raise ValidationError(_("The file is empty: its first line names the columns."))
    return FileFacts(encoding=encoding, headers=headers)


@contextmanager
def _text(binary: IO[bytes], encoding: str) -> Iterator[TextIO]:

    wrapper = io.TextIOWrapper(binary, encoding=encoding, newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()


@contextmanager
def stored_lines(name: str, encoding: str, errors: list[str]) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """The data lines of a stored file (the header left out) with their line numbers, read a line
    at a time; a line the csv module cannot read ends them with its reason in `errors`."""
    with default_storage.open(name, "rb") as stored, _text(stored, encoding) as text:
        rows = csv_file_rows(text, errors)
        next(rows, None)
        yield ((number, row) for number, row in enumerate(rows, start=2))


@dataclass
class Cells:
    """One line's cells by field, and what is wrong with them."""

    values: dict[str, str]
    problems: list[str] = field(default_factory=list)

    def text(self, name: str) -> str:
        return self.values.get(name, "")

    def email(self, name: str = "email") -> str:
        email = normalize_email_address(self.text(name))
        if email:
            try:
                validate_email_address(email)
            except ValidationError:
                self.problems.append(_("%(email)r is not an email address.") % {"email": self.text(name)})
                return ""
        return email

    def day(self, name: str, label: str) -> dt.date | None:
        raw = self.text(name)
        if not raw:
            return None
        day = parse_day(raw)
        if day is None:
            self.problems.append(
                _("bad %(what)s %(raw)r: write it as 2024-03-31 or 31.03.2024.") % {"what": label, "raw": raw}
            )
        return day

    def amount(self, name: str, label: str) -> Decimal | None:
        raw = self.text(name)
        if not raw:
            return None
        amount = cell_decimal(raw)
        if amount is None or amount < 0 or amount >= Decimal("100000000"):
            self.problems.append(
                _("bad %(what)s %(raw)r: an amount of zero or more.") % {"what": label, "raw": raw}
            )
            return None
        return amount.quantize(Decimal("0.01"))


def cells_of(row: list[str], columns: dict[str, int]) -> Cells | None:
    """The line's cells by field; None for a line with nothing in it."""
    if not any(cell.strip() for cell in row):
        return None
    return Cells({name: row[index].strip() if index < len(row) else "" for name, index in columns.items()})


def fingerprint(cells: Cells) -> str:
    """The same line twice has the same fingerprint, whatever its case or spaces."""
    joined = "\x1f".join(f"{name}={value.casefold()}" for name, value in sorted(cells.values.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def parse_day(raw: str) -> dt.date | None:
    """ISO (2024-03-31) or as German spreadsheets write it (31.03.2024); a day and month written
    with slashes is left out: 03/04/2024 is March in one country and April in the next."""
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(raw, pattern).date()  # noqa: DTZ007 - a day, no time
        except ValueError:
            continue
    return None

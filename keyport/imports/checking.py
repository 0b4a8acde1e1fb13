"""Check first: each line of the files read and judged against the location as it is (a new
customer, one matched by email or by an earlier line, a booking of a free unit, or the error and
why), a chunk at a time, each chunk committed with its checkpoint. Nothing of the facility is
written here."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from keyport.audit.services import Actor, audit_record
from keyport.bookings.services import booking_dates_check, units_clashing
from keyport.contacts.models import Contact
from keyport.facilities.models import Unit, UnitStatus
from keyport.imports.models import (
    ImportRow,
    ImportStatus,
    RowKind,
    RowPlan,
    TenantImport,
)
from keyport.imports.reading import MAX_LINES, Cells, cells_of, fingerprint, stored_lines
from keyport.lib.email_addresses import normalize_email_address


def tenant_import_check_run(*, import_id: int) -> TenantImport:
    """Check the files' lines from where the last run stopped, a chunk at a time, then say Checked
    (or Refused, with the reason, for a file that cannot be imported as a whole)."""
    tenant_import = TenantImport.objects.select_related("location").get(pk=import_id)
    if tenant_import.status != ImportStatus.CHECKING:
        return tenant_import
    for kind, name, encoding, columns, done_field in (
        (
            RowKind.TENANT,
            tenant_import.file.name,
            tenant_import.encoding,
            tenant_import.columns,
            "lines_checked",
        ),
        (
            RowKind.CONTACT,
            tenant_import.contacts_file.name,
            tenant_import.contacts_encoding,
            tenant_import.contacts_columns,
            "contact_lines_checked",
        ),
    ):
        if not name:
            continue
        problem = _check_file(tenant_import, kind, name, encoding, columns, done_field)
        if problem:
            return _refuse(tenant_import, problem)
    return _checked(tenant_import)


def _check_file(
    tenant_import: TenantImport, kind: str, name: str, encoding: str, columns: dict[str, int], done_field: str
) -> str:
    """Check one file's lines after the checkpoint; the reason it is refused, or ""."""
    errors: list[str] = []
    checker = _Checker(tenant_import, kind)
    skip = getattr(tenant_import, done_field)
    chunk: list[tuple[int, list[str]]] = []
    with stored_lines(name, encoding, errors) as lines:
        for seen, (number, row) in enumerate(lines, start=1):
            if seen <= skip:
                continue
            if number > MAX_LINES + 1:
                return _("The file has more than %(limit)s lines; split it into files of fewer lines.") % {
                    "limit": f"{MAX_LINES:,}"
                }
            chunk.append((number, row))
            if len(chunk) >= settings.IMPORT_CHECK_CHUNK_LINES:
                checker.commit(chunk, columns, done_field)
                chunk = []
    if errors:
        return _("The file cannot be read: %(reason)s") % {"reason": errors[0]}
    checker.commit(chunk, columns, done_field)
    return ""


class _Checker:
    """What one chunk of lines will do, against Keyport and against the lines checked before it."""

    def __init__(self, tenant_import: TenantImport, kind: str) -> None:
        self.tenant_import = tenant_import
        self.kind = kind
        self.location = tenant_import.location
        self.units: dict[str, Unit] = {}
        self.contacts: dict[str, Contact] = {}
        self.booked_numbers: set[str] = set()

    @transaction.atomic
    def commit(self, chunk: list[tuple[int, list[str]]], columns: dict[str, int], done_field: str) -> None:
        """Record the chunk's lines and move the checkpoint past them, together."""
        if not chunk:
            return
        locked = TenantImport.objects.select_for_update().get(pk=self.tenant_import.pk)
        expected = getattr(self.tenant_import, done_field)
        if getattr(locked, done_field) != expected or locked.status != ImportStatus.CHECKING:
            raise RuntimeError("another run checked these lines")  # two workers: let the other one go on
        lines = [(number, cells) for number, raw in chunk if (cells := cells_of(raw, columns)) is not None]
        self.units = self._units_named({cells.text("unit") for _number, cells in lines})
        self.contacts = {
            str(contact.email): contact
            for contact in Contact.objects.filter(
                email__in={normalize_email_address(cells.text("email")) for _number, cells in lines}
            ).select_related("customer")
        }
        # Only a unit booked on some day from the chunk's first move-in on can clash: one question
        # for the chunk, then the booking rule itself for the lines of those units alone.
        self.booked_numbers = set(units_clashing(list(self.units.values()), dt.date.min, None))
        planned = [self._row(number, cells) for number, cells in lines]
        self._against_earlier_lines(planned)
        ImportRow.objects.bulk_create(planned)
        errors = sum(1 for row in planned if row.plan == RowPlan.ERROR)
        setattr(self.tenant_import, done_field, expected + len(chunk))
        self.tenant_import.errors_count = locked.errors_count + errors
        self.tenant_import.save(update_fields=[done_field, "errors_count"])

    def _units_named(self, numbers: set[str]) -> dict[str, Unit]:
        """The location's units of these numbers, by casefolded number: a chunk's, not all of them."""
        wanted = {number.casefold() for number in numbers if number}
        found = Unit.objects.annotate(folded=Lower("number")).filter(
            location=self.location, folded__in=wanted
        )
        return {unit.number.casefold(): unit for unit in found}

    def _row(self, number: int, cells: Cells) -> ImportRow:
        row = ImportRow(
            tenant_import=self.tenant_import,
            kind=self.kind,
            line=number,
            fingerprint=fingerprint(cells),
            name=cells.text("name")[:200],
            phone=cells.text("phone")[:40],
        )
        if self.kind == RowKind.TENANT:
            self._tenant(row, cells)
        else:
            self._contact(row, cells)
        if cells.problems:
            row.plan, row.message = RowPlan.ERROR, " ".join(cells.problems)
        return row

    def _tenant(self, row: ImportRow, cells: Cells) -> None:
        row.email = cells.email()
        row.unit_number = cells.text("unit")[:50]
        row.starts_on = cells.day("starts_on", _("move-in date"))
        row.ends_on = cells.day("ends_on", _("move-out date"))
        row.monthly_rent = cells.amount("monthly_rent", _("monthly rent"))
        row.balance_due = cells.amount("balance_due", _("balance due"))
        if not row.name:
            cells.problems.append(_("no customer name."))
        if not row.unit_number:
            cells.problems.append(_("no unit number."))
        elif (unit := self.units.get(row.unit_number.casefold())) is None:
            cells.problems.append(
                _("unknown unit %(unit)r: there is no such unit at %(location)s.")
                % {"unit": row.unit_number, "location": self.location.name}
            )
        elif unit.status != UnitStatus.AVAILABLE:
            cells.problems.append(_("unit %(unit)s is not available for booking.") % {"unit": unit.number})
        else:
            row.unit = unit
        if not cells.text("starts_on"):
            cells.problems.append(_("no move-in date."))
        if row.starts_on and row.ends_on:
            try:
                booking_dates_check(row.starts_on, row.ends_on)
            except ValidationError as error:
                cells.problems.append(" ".join(error.messages))
        unit, starts_on = row.unit, row.starts_on
        clashing = unit is not None and unit.number in self.booked_numbers
        if (
            unit
            and starts_on
            and clashing
            and not cells.problems
            and units_clashing([unit], starts_on, row.ends_on)
        ):
            cells.problems.append(_("unit %(unit)s is taken on those dates.") % {"unit": row.unit_number})
        row.plan = RowPlan.CREATE_CUSTOMER
        if row.email:
            existing = self.contacts.get(row.email)
            if existing is not None:
                row.plan, row.customer = RowPlan.MATCH_CUSTOMER, existing.customer
                row.message = _("Matches the existing customer %(name)s by email.") % {
                    "name": existing.customer.name
                }
                if not existing.customer.is_active:
                    cells.problems.append(
                        _("the customer %(name)s is inactive.") % {"name": existing.customer.name}
                    )

    def _contact(self, row: ImportRow, cells: Cells) -> None:
        row.customer_email = cells.email("customer_email")
        row.email = cells.email()
        row.plan = RowPlan.ADD_CONTACT
        if not row.name:
            cells.problems.append(_("no contact name."))
        if not row.customer_email:
            cells.problems.append(_("no customer email."))
        if row.email and row.email in self.contacts:
            cells.problems.append(_("another contact already uses %(email)s.") % {"email": row.email})

    def _against_earlier_lines(self, planned: list[ImportRow]) -> None:
        """Duplicate lines, a unit twice on the same dates, a customer's second line, a contact's
        customer: against the lines recorded before and the chunk's own earlier lines, so that the
        check's memory stays that of one chunk."""
        earlier = ImportRow.objects.filter(tenant_import=self.tenant_import)
        prints = {
            fingerprint: line
            for fingerprint, line in earlier.filter(
                kind=self.kind, fingerprint__in=[row.fingerprint for row in planned]
            ).values_list("fingerprint", "line")
        }
        tenants = earlier.filter(kind=RowKind.TENANT).exclude(plan=RowPlan.ERROR)
        booked: dict[int, list[tuple[dt.date | None, dt.date | None, int]]] = {}
        for unit_id, starts_on, ends_on, line in tenants.filter(
            unit_id__in={row.unit_id for row in planned if row.unit_id}
        ).values_list("unit_id", "starts_on", "ends_on", "line"):
            booked.setdefault(unit_id, []).append((starts_on, ends_on, line))
        emails = {row.email for row in planned if row.email} | {
            row.customer_email for row in planned if row.customer_email
        }
        by_email = dict(tenants.filter(email__in=emails).order_by("-line").values_list("email", "line"))
        customers = set(Contact.objects.filter(email__in=emails).values_list("email", flat=True))
        for row in planned:
            if row.fingerprint in prints:
                row.plan, row.message = (
                    RowPlan.ERROR,
                    _("duplicate line: the same as line %(line)s.") % {"line": prints[row.fingerprint]},
                )
                continue
            prints[row.fingerprint] = row.line
            if row.plan == RowPlan.ERROR:
                continue
            if row.kind == RowKind.CONTACT:
                if row.customer_email not in by_email and row.customer_email not in customers:
                    row.plan, row.message = (
                        RowPlan.ERROR,
                        _("no customer with the email %(email)s in the file nor in Keyport.")
                        % {"email": row.customer_email},
                    )
                continue
            clash = next(
                (
                    line
                    for starts_on, ends_on, line in booked.get(row.unit_id or 0, [])
                    if _overlap(starts_on, ends_on, row.starts_on, row.ends_on)
                ),
                None,
            )
            if clash is not None and row.unit is not None:
                row.plan, row.message = (
                    RowPlan.ERROR,
                    _("unit %(unit)s is taken on those dates: by line %(line)s.")
                    % {"unit": row.unit.number, "line": clash},
                )
                continue
            if row.unit_id and row.starts_on:
                booked.setdefault(row.unit_id, []).append((row.starts_on, row.ends_on, row.line))
            if row.plan == RowPlan.CREATE_CUSTOMER and row.email in by_email:
                row.plan = RowPlan.MATCH_CUSTOMER
                row.message = _("The same customer as line %(line)s (by email).") % {
                    "line": by_email[row.email]
                }
            elif row.email and row.email not in by_email:
                by_email[row.email] = row.line


def _overlap(
    a_start: dt.date | None, a_end: dt.date | None, b_start: dt.date | None, b_end: dt.date | None
) -> bool:
    """Two stays share a day (an end is the last day of a stay; None is open-ended)."""
    if a_start is None or b_start is None:
        return False
    return (a_end is None or b_start <= a_end) and (b_end is None or a_start <= b_end)


@transaction.atomic
def _refuse(tenant_import: TenantImport, problem: str) -> TenantImport:
    """A file that cannot be imported as a whole: nothing of it stays, not even its checked lines."""
    tenant_import = TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    tenant_import.rows.all().delete()
    tenant_import.status, tenant_import.problem = ImportStatus.REFUSED, problem
    tenant_import.save(update_fields=["status", "problem"])
    audit_record(
        actor=Actor.system("import"),
        action="import.refused",
        target=tenant_import,
        location=tenant_import.location,
        details={"problem": problem},
    )
    return tenant_import


@transaction.atomic
def _checked(tenant_import: TenantImport) -> TenantImport:
    tenant_import = TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    rows = tenant_import.rows
    tenant_import.status = ImportStatus.CHECKED
    tenant_import.rows_total = rows.exclude(plan=RowPlan.ERROR).count()
    tenant_import.errors_count = rows.filter(plan=RowPlan.ERROR).count()
    tenant_import.save(update_fields=["status", "rows_total", "errors_count"])
    audit_record(
        actor=Actor.system("import"),
        action="import.checked",
        target=tenant_import,
        location=tenant_import.location,
        details={"lines": rows.count(), "errors": tenant_import.errors_count},
    )
    return tenant_import

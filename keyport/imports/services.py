"""Import tenants: upload, the columns, Check first, the import itself and Send invites.

The check and the import run in the background worker a chunk at a time. Each chunk commits with
its checkpoint (lines checked, rows imported, people invited) in one transaction, so a worker that
dies mid-chunk leaves nothing of that chunk and the next run starts where the last commit ended:
no line is checked, imported or invited twice. The rules are the front desk's own (a new customer,
a Move in's booking and its doors, an open invoice); the import only records what each line did.
"""

import datetime as dt
from decimal import Decimal
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from keyport.audit.services import Actor, audit_record
from keyport.billing.services import LineInput, invoice_create, invoice_issue
from keyport.bookings.services import booking_dates_check, units_clashing
from keyport.contacts.models import Contact, Customer
from keyport.contacts.services import ContactDetails, NewCustomer, invite_send, new_customer_create
from keyport.facilities.models import Location, Unit, UnitStatus
from keyport.frontdesk.services import booking_create, contact_add
from keyport.imports.columns import CONTACT_FIELDS, FIELDS, columns_guessed, fields_missing, headers_unknown
from keyport.imports.models import (
    ImportRow,
    ImportStatus,
    InvitesStatus,
    RowKind,
    RowOutcome,
    RowPlan,
    TenantImport,
)
from keyport.imports.reading import MAX_LINES, Cells, cells_of, file_facts, fingerprint, stored_lines
from keyport.lib.background import enqueue_on_commit
from keyport.lib.email_addresses import normalize_email_address
from keyport.lib.uploads import unguessable_name
from keyport.staff.models import StaffUser


def _refuse_unless_owner(staff: StaffUser) -> None:
    if not staff.is_owner:
        raise PermissionDenied


def _store(upload: IO[bytes]) -> str:
    upload.seek(0)
    return default_storage.save(unguessable_name("imports", ".csv"), upload)


@transaction.atomic
def tenant_import_upload(
    *,
    staff: StaffUser,
    location: Location,
    upload: IO[bytes],
    upload_name: str,
    upload_size: int,
    contacts: IO[bytes] | None = None,
    contacts_name: str = "",
    contacts_size: int = 0,
) -> TenantImport:
    """Keep the files and read their headers; the check starts at once when every header is known,
    else the owner first says which column holds what. Raises ValidationError by file field."""
    _refuse_unless_owner(staff)
    try:
        facts = file_facts(upload, upload_size)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from None
    contacts_facts = None
    if contacts is not None:
        try:
            contacts_facts = file_facts(contacts, contacts_size)
        except ValidationError as error:
            raise ValidationError({"contacts_file": error.messages}) from None
        contacts_columns = columns_guessed(contacts_facts.headers, CONTACT_FIELDS)
        missing = fields_missing(contacts_columns, CONTACT_FIELDS)
        if missing:
            raise ValidationError(
                {
                    "contacts_file": _("No column for %(fields)s in its first line.")
                    % {"fields": ", ".join(missing)}
                }
            )
    columns = columns_guessed(facts.headers, FIELDS)
    tenant_import = TenantImport(
        location=location,
        created_by=staff,
        file=_store(upload),
        file_name=upload_name[:200],
        encoding=facts.encoding,
        headers=facts.headers,
        columns=columns,
    )
    if contacts is not None and contacts_facts is not None:
        tenant_import.contacts_file = _store(contacts)
        tenant_import.contacts_file_name = contacts_name[:200]
        tenant_import.contacts_encoding = contacts_facts.encoding
        tenant_import.contacts_columns = columns_guessed(contacts_facts.headers, CONTACT_FIELDS)
    known = not headers_unknown(facts.headers, columns) and not fields_missing(columns, FIELDS)
    tenant_import.status = ImportStatus.CHECKING if known else ImportStatus.MAPPING
    tenant_import.save()
    audit_record(
        actor=Actor.staff(staff),
        action="import.uploaded",
        target=tenant_import,
        location=location,
        details={"file": tenant_import.file_name, "contacts_file": tenant_import.contacts_file_name},
    )
    if known:
        _enqueue_check(tenant_import)
    return tenant_import


def _enqueue_check(tenant_import: TenantImport) -> None:
    from keyport.imports.tasks import tenant_import_check  # noqa: PLC0415 - the task imports this module

    enqueue_on_commit(tenant_import_check, tenant_import.pk)


@transaction.atomic
def tenant_import_columns_set(
    *, staff: StaffUser, tenant_import: TenantImport, columns: dict[str, int]
) -> TenantImport:
    """The owner's mapping of fields to columns; the check starts."""
    _refuse_unless_owner(staff)
    tenant_import = TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    if tenant_import.status != ImportStatus.MAPPING:
        raise ValidationError(_("The columns of this import are set already."))
    if any(index not in range(len(tenant_import.headers)) for index in columns.values()):
        raise ValidationError(_("Choose columns of the file."))
    if len(set(columns.values())) != len(columns):
        raise ValidationError(_("Each column holds one field: choose a column once."))
    missing = fields_missing(columns, FIELDS)
    if missing:
        raise ValidationError(_("Choose the column of %(fields)s.") % {"fields": ", ".join(missing)})
    tenant_import.columns = columns
    tenant_import.status = ImportStatus.CHECKING
    tenant_import.save(update_fields=["columns", "status"])
    audit_record(
        actor=Actor.staff(staff),
        action="import.columns_set",
        target=tenant_import,
        location=tenant_import.location,
        details={"columns": {field: tenant_import.headers[index] for field, index in columns.items()}},
    )
    _enqueue_check(tenant_import)
    return tenant_import


# Check first --------------------------------------------------------------------------------


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


# The import -------------------------------------------------------------------------------


@transaction.atomic
def tenant_import_start(*, staff: StaffUser, tenant_import: TenantImport) -> TenantImport:
    """Import the checked lines (those without an error) in the background."""
    _refuse_unless_owner(staff)
    tenant_import = TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    if tenant_import.status != ImportStatus.CHECKED:
        raise ValidationError(_("Only a checked import can be started."))
    if not tenant_import.rows_total:
        raise ValidationError(_("No line of this file can be imported: see the errors of Check first."))
    tenant_import.status = ImportStatus.IMPORTING
    tenant_import.import_started_at = timezone.now()
    tenant_import.errors_count = 0
    tenant_import.save(update_fields=["status", "import_started_at", "errors_count"])
    audit_record(
        actor=Actor.staff(staff),
        action="import.started",
        target=tenant_import,
        location=tenant_import.location,
        details={"rows": tenant_import.rows_total},
    )
    from keyport.imports.tasks import tenant_import_run as task  # noqa: PLC0415 - the task imports this module

    enqueue_on_commit(task, tenant_import.pk)
    return tenant_import


def tenant_import_run(*, import_id: int) -> TenantImport:
    """Import the lines not imported yet, a chunk at a time, then say Imported."""
    tenant_import = TenantImport.objects.select_related("location", "created_by").get(pk=import_id)
    while tenant_import.status == ImportStatus.IMPORTING:
        if not _import_chunk(tenant_import):
            return _imported(tenant_import)
        tenant_import.refresh_from_db(fields=["status"])
    return tenant_import


def _actor(tenant_import: TenantImport) -> Actor:
    staff = tenant_import.created_by
    return Actor.staff(staff) if staff is not None else Actor.system("import")


@transaction.atomic
def _import_chunk(tenant_import: TenantImport) -> int:
    """Import the next chunk of lines; the rows' outcomes and the count of rows done commit with
    the customers, bookings and invoices they made, or none of them do. Returns the rows done."""
    TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    chunk = list(
        tenant_import.rows.filter(outcome=RowOutcome.PENDING)
        .exclude(plan=RowPlan.ERROR)
        .select_related("unit")
        .order_by("-kind", "line")[: settings.IMPORT_CHUNK_ROWS]
    )
    actor = _actor(tenant_import)
    failed = 0
    for row in chunk:
        try:
            with transaction.atomic():
                if row.kind == RowKind.TENANT:
                    _import_tenant(actor, tenant_import, row)
                else:
                    _import_contact(actor, row)
                row.outcome = RowOutcome.IMPORTED
        except ValidationError as error:
            row.outcome, row.message = RowOutcome.FAILED, " ".join(error.messages)
            row.customer = row.booking = row.invoice = row.contact = None
            row.customer_created = False
            failed += 1
        row.save(
            update_fields=[
                "outcome",
                "message",
                "customer",
                "customer_created",
                "booking",
                "invoice",
                "contact",
            ]
        )
    if chunk:
        TenantImport.objects.filter(pk=tenant_import.pk).update(
            rows_done=F("rows_done") + len(chunk), errors_count=F("errors_count") + failed
        )
    return len(chunk)


def _import_tenant(actor: Actor, tenant_import: TenantImport, row: ImportRow) -> None:
    """A Move in's booking (its doors with it) for the line's customer, found by email or opened
    here; no Welcome email: imported tenants hear from Keyport when staff send the invites."""
    location = tenant_import.location
    existing = (
        Contact.objects.filter(email=row.email).select_related("customer").first() if row.email else None
    )
    if existing is not None:
        customer: Customer = existing.customer
        row.customer_created = False
    else:
        customer = new_customer_create(
            actor=actor,
            new=NewCustomer(name=row.name, email=row.email, phone=row.phone, home_location=location),
        )
        row.customer_created = True
        row.contact = customer.contacts.get(is_primary=True)
    row.customer = customer
    if row.unit is None or row.starts_on is None:
        raise ValidationError(_("The unit of this line is gone."))
    row.booking = booking_create(
        actor=actor,
        customer=customer,
        units=[row.unit],
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        monthly_rents={row.unit.pk: row.monthly_rent} if row.monthly_rent is not None else {},
        note=_("Imported from %(file)s, line %(line)s.")
        % {"file": tenant_import.file_name, "line": row.line},
    )
    if row.balance_due:
        invoice = invoice_create(
            actor=actor,
            location=location,
            customer=customer,
            booking=row.booking,
            due_on=location.local_now().date(),
            lines=[
                LineInput(
                    description=_("Balance carried over from the previous system"),
                    quantity=Decimal(1),
                    unit_price=row.balance_due,
                )
            ],
        )
        row.invoice = invoice_issue(actor=actor, invoice=invoice, email=False)


def _import_contact(actor: Actor, row: ImportRow) -> None:
    primary = Contact.objects.filter(email=row.customer_email).select_related("customer").first()
    if primary is None:
        raise ValidationError(_("No customer has the email %(email)s.") % {"email": row.customer_email})
    first_name, _space, last_name = row.name.rpartition(" ")
    row.customer = primary.customer
    row.contact = contact_add(
        actor=actor,
        customer=primary.customer,
        details=ContactDetails(
            first_name=first_name or last_name,
            last_name=last_name if first_name else "",
            email=row.email,
            phone=row.phone,
            can_access_portal=bool(row.email),
        ),
    )


@transaction.atomic
def _imported(tenant_import: TenantImport) -> TenantImport:
    tenant_import = TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    if tenant_import.status != ImportStatus.IMPORTING:
        return tenant_import
    tenant_import.status = ImportStatus.DONE
    tenant_import.import_finished_at = timezone.now()
    tenant_import.save(update_fields=["status", "import_finished_at"])
    outcomes = tenant_import.rows.filter(outcome=RowOutcome.IMPORTED)
    audit_record(
        actor=_actor(tenant_import),
        action="import.finished",
        target=tenant_import,
        location=tenant_import.location,
        details={
            "imported": outcomes.count(),
            "customers_created": outcomes.filter(customer_created=True).count(),
            "failed": tenant_import.rows.filter(outcome=RowOutcome.FAILED).count(),
        },
    )
    return tenant_import


# Send invites -----------------------------------------------------------------------------


def _to_invite(tenant_import: TenantImport) -> "Q":
    """The people the import added, with an email: a new customer's primary contact, an added contact."""
    return Q(
        tenant_import=tenant_import,
        outcome=RowOutcome.IMPORTED,
        contact__isnull=False,
        invited_at__isnull=True,
    ) & ~Q(email="")


@transaction.atomic
def tenant_import_invites_start(*, staff: StaffUser, tenant_import: TenantImport) -> TenantImport:
    """Send invites to the people the import added, in the background, at the mail server's pace."""
    _refuse_unless_owner(staff)
    tenant_import = TenantImport.objects.select_for_update().get(pk=tenant_import.pk)
    if tenant_import.status != ImportStatus.DONE:
        raise ValidationError(_("Invites are sent once the import is done."))
    if tenant_import.invites_status != InvitesStatus.NOT_SENT:
        raise ValidationError(_("The invites of this import are sent already."))
    tenant_import.invites_total = ImportRow.objects.filter(_to_invite(tenant_import)).count()
    if not tenant_import.invites_total:
        raise ValidationError(_("Nobody this import added has an email address to invite."))
    tenant_import.invites_status = InvitesStatus.SENDING
    tenant_import.invites_started_at = timezone.now()
    tenant_import.save(update_fields=["invites_total", "invites_status", "invites_started_at"])
    audit_record(
        actor=Actor.staff(staff),
        action="import.invites_started",
        target=tenant_import,
        location=tenant_import.location,
        details={"people": tenant_import.invites_total},
    )
    from keyport.imports.tasks import tenant_import_send_invites  # noqa: PLC0415 - the task imports this module

    enqueue_on_commit(tenant_import_send_invites, tenant_import.pk)
    return tenant_import


def tenant_import_invites_send(*, import_id: int, limit: int) -> int:
    """Invite up to `limit` more people, each invite committed with its row's mark; the number
    still to invite (0 when all are: the invites are Sent)."""
    tenant_import = TenantImport.objects.select_related("created_by", "location").get(pk=import_id)
    if tenant_import.invites_status != InvitesStatus.SENDING:
        return 0
    actor = _actor(tenant_import)
    for row_id in (
        ImportRow.objects.filter(_to_invite(tenant_import))
        .order_by("-kind", "line")
        .values_list("pk", flat=True)[:limit]
    ):
        _invite_one(actor, tenant_import, row_id)
    left = ImportRow.objects.filter(_to_invite(tenant_import)).count()
    if not left:
        _invites_sent(tenant_import)
    return left


@transaction.atomic
def _invite_one(actor: Actor, tenant_import: TenantImport, row_id: int) -> None:
    row = (
        ImportRow.objects.select_for_update(of=("self",))
        .select_related("contact")
        .filter(pk=row_id, invited_at__isnull=True)
        .first()
    )
    if row is None or row.contact is None:
        return  # another run invited them
    try:
        with transaction.atomic():
            invite_send(actor=actor, contact=row.contact)
    except ValidationError as error:
        row.message = _("Invite not sent: %(reason)s") % {"reason": " ".join(error.messages)}
    row.invited_at = timezone.now()
    row.save(update_fields=["invited_at", "message"])
    TenantImport.objects.filter(pk=tenant_import.pk).update(invites_done=F("invites_done") + 1)


@transaction.atomic
def _invites_sent(tenant_import: TenantImport) -> None:
    updated = TenantImport.objects.filter(pk=tenant_import.pk, invites_status=InvitesStatus.SENDING).update(
        invites_status=InvitesStatus.SENT
    )
    if updated:
        audit_record(
            actor=_actor(tenant_import),
            action="import.invites_sent",
            target=tenant_import,
            location=tenant_import.location,
            details={"people": tenant_import.rows.filter(invited_at__isnull=False).count()},
        )


def invite_pause(now: dt.datetime) -> dt.datetime:
    """When the next minute's invites may go."""
    return now + dt.timedelta(minutes=1)

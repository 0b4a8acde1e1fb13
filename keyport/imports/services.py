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
from django.utils import timezone
from django.utils.translation import gettext as _

from keyport.audit.services import Actor, audit_record
from keyport.billing.services import LineInput, invoice_create, invoice_issue
from keyport.contacts.models import Contact, Customer
from keyport.contacts.services import ContactDetails, NewCustomer, invite_send, new_customer_create
from keyport.facilities.models import Location
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
from keyport.imports.reading import file_facts
from keyport.lib.background import enqueue_on_commit
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

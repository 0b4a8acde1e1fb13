"""An import of tenants from an operator's previous software: the uploaded files, the column each
field is read from, the Check first report line by line, and the checkpoints of the work in the
background (how many lines are checked, imported, invited), each committed with the work it counts."""

import datetime as dt

from django.db import models
from django.utils import timezone


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Choose the columns"
    CHECKING = "checking", "Checking"
    CHECKED = "checked", "Checked"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Imported"
    REFUSED = "refused", "Refused"


class InvitesStatus(models.TextChoices):
    NOT_SENT = "", "Not sent"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"


class TenantImport(models.Model):
    location = models.ForeignKey("facilities.Location", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("staff.StaffUser", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    file = models.FileField(max_length=200)
    file_name = models.CharField(max_length=200)
    encoding = models.CharField(max_length=20)
    contacts_file = models.FileField(max_length=200, blank=True)
    contacts_file_name = models.CharField(max_length=200, blank=True)
    contacts_encoding = models.CharField(max_length=20, blank=True)
    headers = models.JSONField(default=list)
    # Field name (see keyport.imports.columns.FIELDS) → the index of the column it is read from.
    columns = models.JSONField(default=dict)
    contacts_columns = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.CHECKING)
    # Why the whole file was refused (too many lines, a cell too long): nothing of it is imported.
    problem = models.TextField(blank=True)
    # The checkpoints: lines of the file checked, and lines of the plan imported.
    lines_checked = models.PositiveIntegerField(default=0)
    contact_lines_checked = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    errors_count = models.PositiveIntegerField(default=0)
    import_started_at = models.DateTimeField(null=True, blank=True)
    import_finished_at = models.DateTimeField(null=True, blank=True)
    invites_status = models.CharField(
        max_length=20, choices=InvitesStatus.choices, default=InvitesStatus.NOT_SENT, blank=True
    )
    invites_total = models.PositiveIntegerField(default=0)
    invites_done = models.PositiveIntegerField(default=0)
    invites_started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import of {self.file_name}"

    @property
    def is_running(self) -> bool:
        return self.status in {ImportStatus.CHECKING, ImportStatus.IMPORTING}

    @property
    def percent_done(self) -> int:
        if self.status == ImportStatus.CHECKING or not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def invites_percent(self) -> int:
        return min(100, self.invites_done * 100 // self.invites_total) if self.invites_total else 0

    def time_left(self, now: dt.datetime) -> dt.timedelta | None:
        """What the import's pace so far says is left; None before any line is imported."""
        return _time_left(self.import_started_at, self.rows_done, self.rows_total, now)

    def invites_time_left(self, now: dt.datetime) -> dt.timedelta | None:
        return _time_left(self.invites_started_at, self.invites_done, self.invites_total, now)


def _time_left(
    started_at: dt.datetime | None, done: int, total: int, now: dt.datetime
) -> dt.timedelta | None:
    if started_at is None or not done or done >= total:
        return None
    return (now - started_at) / done * (total - done)


class RowKind(models.TextChoices):
    TENANT = "tenant", "Tenant"
    CONTACT = "contact", "Additional contact"


class RowPlan(models.TextChoices):
    CREATE_CUSTOMER = "create_customer", "Will create a customer and a booking"
    MATCH_CUSTOMER = "match_customer", "Will book for an existing customer"
    ADD_CONTACT = "add_contact", "Will add a contact"
    ERROR = "error", "Error"


class RowOutcome(models.TextChoices):
    PENDING = "", "Not imported yet"
    IMPORTED = "imported", "Imported"
    FAILED = "failed", "Not imported"


class ImportRow(models.Model):
    """One line of an uploaded file as Check first read it, and what the import then did with it."""

    tenant_import = models.ForeignKey(TenantImport, on_delete=models.CASCADE, related_name="rows")
    kind = models.CharField(max_length=10, choices=RowKind.choices, default=RowKind.TENANT)
    line = models.PositiveIntegerField()
    plan = models.CharField(max_length=20, choices=RowPlan.choices)
    message = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    # The primary contact's email an additional contact belongs with.
    customer_email = models.CharField(max_length=254, blank=True)
    unit = models.ForeignKey("facilities.Unit", null=True, on_delete=models.SET_NULL, related_name="+")
    unit_number = models.CharField(max_length=50, blank=True)
    starts_on = models.DateField(null=True)
    ends_on = models.DateField(null=True)
    monthly_rent = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    balance_due = models.DecimalField(max_digits=10, decimal_places=2, null=True)
    # Filled when the line is imported.
    outcome = models.CharField(
        max_length=10, choices=RowOutcome.choices, default=RowOutcome.PENDING, blank=True
    )
    customer = models.ForeignKey("contacts.Customer", null=True, on_delete=models.SET_NULL, related_name="+")
    customer_created = models.BooleanField(default=False)
    booking = models.ForeignKey("bookings.Booking", null=True, on_delete=models.SET_NULL, related_name="+")
    invoice = models.ForeignKey("billing.Invoice", null=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("contacts.Contact", null=True, on_delete=models.SET_NULL, related_name="+")
    invited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "line"]
        constraints = [
            models.UniqueConstraint(fields=["tenant_import", "kind", "line"], name="import_row_line_once")
        ]
        indexes = [
            models.Index(fields=["tenant_import", "kind", "fingerprint"], name="import_row_fingerprint"),
            models.Index(fields=["tenant_import", "email"], name="import_row_email"),
            models.Index(fields=["tenant_import", "unit"], name="import_row_unit"),
        ]

    def __str__(self) -> str:
        return f"Line {self.line} of {self.tenant_import}"

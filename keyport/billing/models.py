from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from keyport.billing.periods import BillingAnchor
from keyport.lib.money import DEFAULT_CURRENCY

CENT = Decimal("0.01")
# A location's currency until its billing settings say otherwise.


class BillingSettings(models.Model):
    """A location's billing rules: its one currency, invoice numbering and the overdue lockout."""

    location = models.OneToOneField(
        "facilities.Location", on_delete=models.CASCADE, related_name="billing_settings"
    )
    currency = models.CharField(
        max_length=3,
        default=DEFAULT_CURRENCY,
        validators=[RegexValidator(r"^[A-Z]{3}$", "An ISO 4217 code in capitals, e.g. EUR or USD.")],
    )
    invoice_prefix = models.CharField(
        max_length=12,
        default="INV",
        validators=[RegexValidator(r"^[A-Z0-9]+$", "Capital letters and digits only.")],
    )
    next_invoice_number = models.PositiveIntegerField(default=1)
    lockout_enabled = models.BooleanField(
        "lock access when overdue",
        default=True,
        help_text="Lock a booking's access when its invoice stays unpaid past the grace days.",
    )
    grace_days = models.PositiveSmallIntegerField(
        "grace days",
        default=14,
        validators=[MaxValueValidator(365)],
        help_text="Days after the due date before access is locked.",
    )
    billing_anchor = models.CharField(
        "billing periods start on",
        max_length=16,
        choices=BillingAnchor.choices,
        default=BillingAnchor.MOVE_IN,
        help_text="Monthly periods from each booking's move-in day, or from the first of each month.",
    )
    issue_days_before = models.PositiveSmallIntegerField(
        "issue invoices days before the period",
        default=7,
        validators=[MaxValueValidator(60)],
        help_text="A booking's invoice for its next period is issued this many days before it starts.",
    )
    vat_rate = models.DecimalField(
        "VAT rate (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Charged on rent and shown on every invoice (19 in Germany).",
    )
    reminder_days_after = models.PositiveSmallIntegerField(
        "second reminder days after the due date",
        default=7,
        validators=[MaxValueValidator(365)],
        help_text="A Payment reminder goes out on the due date, and again this many days after.",
    )
    lock_warning_days = models.PositiveSmallIntegerField(
        "lock warning days before the lockout",
        default=3,
        validators=[MaxValueValidator(365)],
        help_text="The Access will be locked email goes out this many days before the grace days end.",
    )
    # The location's last local day the billing run finished: the run starts once a day, after midnight.
    last_run_on = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return f"Billing of {self.location}"


class BillingProfile(models.Model):
    """Billing facts about one customer; kept in billing so the contacts app stays about people."""

    customer = models.OneToOneField(
        "contacts.Customer", on_delete=models.CASCADE, related_name="billing_profile"
    )
    lockout_exempt = models.BooleanField(
        "exempt from the overdue lockout",
        default=False,
        help_text="Access is never locked for unpaid invoices of this customer.",
    )

    def __str__(self) -> str:
        return f"Billing profile of {self.customer}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(models.Model):
    """A bill to a customer from one location, in that location's currency.

    Totals are stored when the lines are set (Draft only) so lists need no sums;
    the number is given when the invoice is issued, from the location's sequence.
    """

    location = models.ForeignKey("facilities.Location", on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey("contacts.Customer", on_delete=models.PROTECT, related_name="invoices")
    booking = models.ForeignKey(
        "bookings.Booking", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    number = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=8, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField(null=True, blank=True)
    due_on = models.DateField()
    subtotal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    tax_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    # Set while this invoice holds its booking's access locked for being overdue.
    access_locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)
    # The rent period an invoice of the billing run bills (empty on a manual invoice).
    period_starts_on = models.DateField(null=True, blank=True)
    period_ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Whoever runs billing, and however often, a booking's period is billed once.
            models.UniqueConstraint(
                fields=["booking", "period_starts_on"],
                condition=Q(period_starts_on__isnull=False),
                name="invoice_one_per_booking_period",
            ),
            models.UniqueConstraint(
                fields=["location", "number"],
                condition=~Q(number=""),
                name="invoice_number_unique_per_location",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"Invoice {self.number}" if self.number else f"Draft invoice #{self.pk}"

    @property
    def balance(self) -> Decimal:
        if self.status in (InvoiceStatus.DRAFT, InvoiceStatus.VOID):
            return Decimal("0.00")
        return self.total - self.amount_paid

    def locks_on(self, grace_days: int) -> dt.date:
        """The first local day on which an unpaid invoice locks its booking's access."""
        return self.due_on + dt.timedelta(days=grace_days + 1)

    def is_overdue_on(self, day: dt.date) -> bool:
        return self.status == InvoiceStatus.OPEN and day > self.due_on

    def vat_rates(self) -> list[Decimal]:
        """The VAT rates of its lines, each once (one for a rent invoice)."""
        return sorted({line.tax_rate for line in self.lines.all()})


class InvoiceEmailKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    REMINDER_DUE = "reminder_due", "Payment reminder on the due date"
    REMINDER_LATE = "reminder_late", "Payment reminder after the due date"
    LOCK_WARNING = "lock_warning", "Access will be locked"
    PAYMENT_RECEIVED = "payment_received", "Payment received"


class InvoiceEmail(models.Model):
    """An email about an invoice, one row per recipient: what the overdue lockout asks before it
    locks (the invoice and the lock warning delivered), and what keeps a reminder from going twice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=InvoiceEmailKind.choices)
    email = models.ForeignKey("emails.OutgoingEmail", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["invoice", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.invoice}"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=9, decimal_places=2, validators=[MinValueValidator(CENT)])
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    tax_rate = models.DecimalField(
        "tax rate (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    net_amount = models.DecimalField(max_digits=12, decimal_places=2)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]

    def __str__(self) -> str:
        return self.description


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    OTHER = "other", "Other"


class Payment(models.Model):
    """Money received for an invoice, recorded by staff."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(CENT)])
    received_on = models.DateField()
    method = models.CharField(
        max_length=16, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER
    )
    reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_on", "id"]

    def __str__(self) -> str:
        return f"{self.amount} {self.invoice.currency} for {self.invoice}"

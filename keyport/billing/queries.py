from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.shortcuts import get_object_or_404

from keyport.billing.models import (
    CENT,
    BillingProfile,
    BillingSettings,
    Invoice,
    InvoiceEmail,
    InvoiceEmailKind,
    InvoiceStatus,
)
from keyport.contacts.models import Customer
from keyport.emails.models import EmailStatus
from keyport.facilities.models import Location
from keyport.staff.models import StaffUser
from keyport.staff.queries import locations_for_staff


def invoices_for_staff(user: StaffUser) -> QuerySet[Invoice]:
    return Invoice.objects.filter(location__in=locations_for_staff(user)).select_related(
        "customer", "location", "booking"
    )


def get_invoice_for_staff(user: StaffUser, invoice_id: int) -> Invoice:
    return get_object_or_404(invoices_for_staff(user).prefetch_related("lines", "payments"), pk=invoice_id)


def get_invoice_for_operator(user: StaffUser, invoice_id: int) -> Invoice:
    """An invoice to issue, void or record a payment on: owners and managers of its location."""
    invoice = get_invoice_for_staff(user, invoice_id)
    if not user.can_operate_location(invoice.location):
        raise PermissionDenied
    return invoice


def invoices_for_customer(customer: Customer) -> QuerySet[Invoice]:
    """What the portal shows: issued invoices only, never drafts."""
    return (
        Invoice.objects.filter(customer=customer)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("location")
        .order_by("-issued_on", "-id")
    )


def get_invoice_for_customer(customer: Customer, invoice_id: int) -> Invoice:
    return get_object_or_404(
        invoices_for_customer(customer).prefetch_related("lines", "payments"), pk=invoice_id
    )


def balances_of_customer(
    customer: Customer, *, locations: QuerySet[Location] | None = None
) -> dict[str, Decimal]:
    """What the customer owes, per currency (one currency per location, so possibly several)."""
    invoices = Invoice.objects.filter(customer=customer, status=InvoiceStatus.OPEN)
    if locations is not None:
        invoices = invoices.filter(location__in=locations)
    rows = (
        invoices.values("currency").annotate(total=Sum("total"), paid=Sum("amount_paid")).order_by("currency")
    )
    # SQLite sums decimals as floats; back to exact cents.
    return {row["currency"]: (row["total"] - row["paid"]).quantize(CENT) for row in rows}


@dataclass(frozen=True)
class CustomerBilling:
    """What the customer owes at these locations: the open invoices, the overdue among them and the
    balance per currency."""

    open_invoices: list[Invoice]
    overdue_ids: frozenset[int]
    balances: dict[str, Decimal]


def overdue_among(invoices: Iterable[Invoice]) -> frozenset[int]:
    """The ids of those invoices that are overdue today, each at its own location."""
    return frozenset(
        invoice.pk for invoice in invoices if invoice.is_overdue_on(invoice.location.local_now().date())
    )


def billing_of_customer_for_staff(user: StaffUser, customer: Customer) -> CustomerBilling:
    locations = locations_for_staff(user)
    invoices = list(
        invoices_for_staff(user).filter(customer=customer, status=InvoiceStatus.OPEN).order_by("due_on", "pk")
    )
    return CustomerBilling(
        open_invoices=invoices,
        overdue_ids=overdue_among(invoices),
        balances=balances_of_customer(customer, locations=locations),
    )


def currency_of(location: Location) -> str:
    """The location's one currency: its billing settings', else the default they start with."""
    currency = BillingSettings.objects.filter(location=location).values_list("currency", flat=True).first()
    return currency or str(BillingSettings._meta.get_field("currency").default)


def is_lockout_exempt(customer: Customer) -> bool:
    return BillingProfile.objects.filter(customer=customer, lockout_exempt=True).exists()


def was_told_before_lockout(invoice: Invoice) -> bool:
    """Whether the tenant was sent the invoice and the lock warning (delivered, not only queued):
    the overdue lockout never locks anyone out without both."""
    delivered = set(
        InvoiceEmail.objects.filter(invoice=invoice, email__status=EmailStatus.SENT).values_list(
            "kind", flat=True
        )
    )
    return {InvoiceEmailKind.INVOICE, InvoiceEmailKind.LOCK_WARNING} <= delivered


def emails_of_invoice(invoice: Invoice) -> QuerySet[InvoiceEmail]:
    """The emails sent about an invoice, oldest first, each with its log row (to whom, delivered)."""
    return (
        InvoiceEmail.objects.filter(invoice=invoice)
        .select_related("email")
        .order_by("email__created_at", "pk")
    )

from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.http import Http404

from keyport.billing.models import CENT, Invoice, InvoiceStatus
from keyport.contacts.models import Customer
from keyport.facilities.models import Location


def invoices_for_staff(locations: QuerySet[Location]) -> QuerySet[Invoice]:
    return Invoice.objects.filter(location__in=locations).select_related("customer", "location", "booking")


def get_invoice_for_staff(locations: QuerySet[Location], invoice_id: int) -> Invoice:
    try:
        return invoices_for_staff(locations).prefetch_related("lines", "payments").get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None


def invoices_for_customer(customer: Customer) -> QuerySet[Invoice]:
    """What the portal shows: issued invoices only, never drafts."""
    return (
        Invoice.objects.filter(customer=customer)
        .exclude(status=InvoiceStatus.DRAFT)
        .select_related("location")
        .order_by("-issued_on", "-id")
    )


def get_invoice_for_customer(customer: Customer, invoice_id: int) -> Invoice:
    try:
        return invoices_for_customer(customer).prefetch_related("lines", "payments").get(pk=invoice_id)
    except Invoice.DoesNotExist:
        raise Http404("No such invoice.") from None


def balances_of_customer(customer: Customer) -> dict[str, Decimal]:
    """What the customer owes, per currency (one currency per location, so possibly several)."""
    rows = (
        Invoice.objects.filter(customer=customer, status=InvoiceStatus.OPEN)
        .values("currency")
        .annotate(total=Sum("total"), paid=Sum("amount_paid"))
        .order_by("currency")
    )
    # SQLite sums decimals as floats; back to exact cents.
    return {row["currency"]: (row["total"] - row["paid"]).quantize(CENT) for row in rows}

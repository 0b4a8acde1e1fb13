"""Money given back on a paid invoice: the invoice is Open again for what is now unpaid.

Its own module beside services.py: the refund is told by whoever paid the money back (a payment
provider, or staff), and the invoice's payments stay as they were received.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from keyport.audit.services import Actor, audit_record
from keyport.billing.models import Invoice, InvoiceStatus
from keyport.billing.services import money


@transaction.atomic
def invoice_refund(*, actor: Actor, invoice: Invoice, amount: Decimal, reference: str = "") -> Invoice:
    """Take a refund off what the invoice has been paid; a Paid invoice is Open again.

    The overdue lockout treats it as any open invoice: past its due date and grace days, the
    periodic check locks the booking again."""
    invoice = Invoice.objects.select_for_update().select_related("location", "customer").get(pk=invoice.pk)
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        raise ValidationError("Refunds are recorded against issued invoices only.")
    if amount <= 0 or money(amount) != amount:
        raise ValidationError({"amount": "The amount must be more than zero, in whole cents."})
    if amount > invoice.amount_paid:
        raise ValidationError({"amount": f"More than the {invoice.amount_paid} {invoice.currency} paid."})
    invoice.amount_paid -= amount
    invoice.status = InvoiceStatus.OPEN
    invoice.paid_at = None
    invoice.save(update_fields=["amount_paid", "status", "paid_at"])
    audit_record(
        actor=actor,
        action="invoice.refunded",
        target=invoice,
        location=invoice.location,
        customer=invoice.customer,
        details={
            "amount": str(amount),
            "currency": invoice.currency,
            "balance": str(invoice.balance),
            "reference": reference[:100],
        },
    )
    return invoice

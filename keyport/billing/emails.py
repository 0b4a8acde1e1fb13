"""Billing's emails: "Invoice" (with its PDF and a Pay link), "Payment reminder", "Access will be
locked" and "Payment received".

Each is operator-editable (Emails in the dashboard); the defaults ship here and are registered with
the emails app when billing loads. Each one sent is recorded against its invoice (InvoiceEmail):
the overdue lockout asks those rows before it locks anyone out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import formats

from keyport.billing.models import Invoice, InvoiceEmail, InvoiceEmailKind, InvoiceStatus
from keyport.billing.pdf import invoice_pdf
from keyport.emails.attachments import Attachment, attachment_ref, register_attachment
from keyport.emails.defaults import DefaultTemplate, register_default_template
from keyport.emails.services import Recipient, emails_queue_from_template
from keyport.lib.times import local_day

INVOICE = "invoice"
PAYMENT_REMINDER = "payment_reminder"
ACCESS_LOCK_WARNING = "access_lock_warning"
PAYMENT_RECEIVED = "payment_received"
INVOICE_PDF = "invoice_pdf"

_SAMPLE = {
    "site_name": "Keyport",
    "tenant_name": "Mara Schneider",
    "location_name": "Lager Kreuzberg",
    "invoice_number": "BER-00042",
    "total": "107,10 EUR",
    "balance": "107,10 EUR",
    "vat": "VAT 19,00 %: 17,10 EUR",
    "due_on": "Wed 1 Apr 2026",
    "period": "Wed 1 Apr 2026 to Thu 30 Apr 2026",
    "pay_link": "https://portal.example.com/portal/billing/invoices/42/",
}

register_default_template(
    DefaultTemplate(
        key=INVOICE,
        name="Invoice",
        description="Sent to the tenant's portal people with each invoice, its PDF attached.",
        subject="Invoice {{ invoice_number }} from {{ location_name }}",
        body_text=(
            "Hello {{ tenant_name }},\n\n"
            "here is invoice {{ invoice_number }} from {{ location_name }}{% if period %} for "
            "{{ period }}{% endif %}: {{ total }} ({{ vat }}), due on {{ due_on }}.\n\n"
            "The invoice is attached as a PDF. Pay it here:\n{{ pay_link }}\n"
        ),
        sample=_SAMPLE,
        required=("pay_link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=PAYMENT_REMINDER,
        name="Payment reminder",
        description="Sent on an unpaid invoice's due date, and again a set number of days after.",
        subject="Reminder: invoice {{ invoice_number }} is due",
        body_text=(
            "Hello {{ tenant_name }},\n\n"
            "invoice {{ invoice_number }} from {{ location_name }} was due on {{ due_on }}; "
            "{{ balance }} is still open.\n\n"
            "Pay it here:\n{{ pay_link }}\n\n"
            "Already paid? Then thank you, and please ignore this email.\n"
        ),
        sample=_SAMPLE,
        required=("pay_link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=ACCESS_LOCK_WARNING,
        name="Access will be locked",
        description=(
            "Sent a set number of days before an overdue invoice's grace days end: the booking's "
            "access is locked from then until it is paid. Nobody is locked out without it."
        ),
        subject="Your access at {{ location_name }} will be locked on {{ locks_on }}",
        body_text=(
            "Hello {{ tenant_name }},\n\n"
            "invoice {{ invoice_number }} ({{ balance }} open) is overdue since {{ due_on }}. "
            "Unless it is paid, access to your units at {{ location_name }} is locked on "
            "{{ locks_on }} until it is.\n\n"
            "Pay it here:\n{{ pay_link }}\n"
        ),
        sample={**_SAMPLE, "locks_on": "Fri 17 Apr 2026"},
        required=("pay_link",),
    )
)
register_default_template(
    DefaultTemplate(
        key=PAYMENT_RECEIVED,
        name="Payment received",
        description="Sent when the facility records a payment for an invoice.",
        subject="Payment received for invoice {{ invoice_number }}",
        body_text=(
            "Hello {{ tenant_name }},\n\n"
            "thank you: we received {{ amount }} for invoice {{ invoice_number }} from "
            "{{ location_name }}. {% if paid %}It is paid in full.{% else %}{{ balance }} is still "
            "open.{% endif %}\n"
        ),
        sample={**_SAMPLE, "amount": "107,10 EUR", "paid": "yes"},
    )
)


def _invoice_attachment(invoice_id: int) -> Attachment | None:
    invoice = Invoice.objects.select_related("location", "customer").filter(pk=invoice_id).first()
    if invoice is None:
        return None
    return Attachment(f"{invoice.number or 'invoice'}.pdf", invoice_pdf(invoice), "application/pdf")


register_attachment(INVOICE_PDF, _invoice_attachment)


def amount_shown(amount: Decimal, currency: str) -> str:
    return f"{formats.number_format(amount, 2, use_l10n=True)} {currency}"


def vat_shown(invoice: Invoice) -> str:
    rates = invoice.vat_rates()
    rate = ", ".join(f"{formats.number_format(r, 2, use_l10n=True)} %" for r in rates) or "0 %"
    return f"VAT {rate}: {amount_shown(invoice.tax_total, invoice.currency)}"


def pay_link(invoice: Invoice) -> str:
    """The portal's page of the invoice, where the tenant pays it."""
    return f"{settings.PUBLIC_BASE_URL}{reverse('portal:invoice', args=[invoice.pk])}"


def _context(invoice: Invoice) -> dict[str, str]:
    period = ""
    if invoice.period_starts_on and invoice.period_ends_on:
        period = f"{local_day(invoice.period_starts_on)} to {local_day(invoice.period_ends_on)}"
    return {
        "tenant_name": invoice.customer.name,
        "location_name": invoice.location.name,
        "invoice_number": invoice.number,
        "total": amount_shown(invoice.total, invoice.currency),
        "balance": amount_shown(invoice.balance, invoice.currency),
        "vat": vat_shown(invoice),
        "due_on": local_day(invoice.due_on),
        "period": period,
        "pay_link": pay_link(invoice),
    }


def _invoice_emails(
    *, key: str, invoice: Invoice, kind: InvoiceEmailKind, extra: dict[str, str] | None = None
) -> list[InvoiceEmail]:
    """Queue one of billing's emails about the invoice to each of its customer's portal people,
    and record each against the invoice. Nobody with an email: nothing is sent, nothing recorded."""
    context = {**_context(invoice), **(extra or {})}
    attachments = [attachment_ref(INVOICE_PDF, invoice.pk)] if kind == InvoiceEmailKind.INVOICE else []
    recipients = [
        Recipient(to=contact.email or "", contact=contact, context=context, attachments=attachments)
        for contact in invoice.customer.portal_people()
    ]
    if not recipients:
        return []
    emails = emails_queue_from_template(key=key, recipients=recipients, location=invoice.location)
    return InvoiceEmail.objects.bulk_create(
        [InvoiceEmail(invoice=invoice, kind=kind, email=email) for email in emails]
    )


def invoice_issued_email(*, invoice: Invoice) -> list[InvoiceEmail]:
    """The Invoice, its PDF attached, with a Pay link."""
    return _invoice_emails(key=INVOICE, invoice=invoice, kind=InvoiceEmailKind.INVOICE)


def payment_reminder_email(*, invoice: Invoice, late: bool) -> list[InvoiceEmail]:
    kind = InvoiceEmailKind.REMINDER_LATE if late else InvoiceEmailKind.REMINDER_DUE
    return _invoice_emails(key=PAYMENT_REMINDER, invoice=invoice, kind=kind)


def lock_warning_email(*, invoice: Invoice, locks_on: dt.date) -> list[InvoiceEmail]:
    return _invoice_emails(
        key=ACCESS_LOCK_WARNING,
        invoice=invoice,
        kind=InvoiceEmailKind.LOCK_WARNING,
        extra={"locks_on": local_day(locks_on)},
    )


def payment_received_email(*, invoice: Invoice, amount: Decimal) -> list[InvoiceEmail]:
    return _invoice_emails(
        key=PAYMENT_RECEIVED,
        invoice=invoice,
        kind=InvoiceEmailKind.PAYMENT_RECEIVED,
        extra={
            "amount": amount_shown(amount, invoice.currency),
            "paid": "yes" if invoice.balance == 0 else "",
        },
    )


def invoices_email_issued(*, invoice_ids: list[int]) -> int:
    """The Invoice email of each of these Open invoices that has had none (the billing run issues
    in batches and emails after each commits); how many emails."""
    sent = 0
    invoices = (
        Invoice.objects.filter(pk__in=invoice_ids, status=InvoiceStatus.OPEN)
        .exclude(emails__kind=InvoiceEmailKind.INVOICE)
        .select_related("location", "customer")
        .order_by("pk")
    )
    for invoice in invoices:
        with transaction.atomic():
            sent += len(invoice_issued_email(invoice=invoice))
    return sent

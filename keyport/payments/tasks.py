import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from keyport.billing.models import Invoice
from keyport.lib.periodic import chain_queue_next
from keyport.payments.models import AutopayAttempt, AutopayOutcome
from keyport.payments.queries import invoices_to_autopay
from keyport.payments.services import PaymentServiceDown, invoice_autopay

logger = logging.getLogger(__name__)

# Stripe not answering: try again after 1, 2, 4, 8 and 16 minutes, then leave the invoice open.
AUTOPAY_TRIES = 6


@task()
def autopay_invoice(invoice_id: int, attempt: int = 1) -> str:
    """Charge the saved card for an issued invoice (keyport.payments.services.invoice_autopay)."""
    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None:
        return "gone"
    try:
        outcome = invoice_autopay(invoice)
    except PaymentServiceDown:
        if attempt >= AUTOPAY_TRIES:
            logger.warning("Automatic payment of invoice %s gave up: Stripe did not answer", invoice_id)
            # Recorded as the invoice's one automatic try: the sweep does not start it again.
            AutopayAttempt.objects.create(
                invoice=invoice, outcome=AutopayOutcome.FAILED, message="The card service did not answer."
            )
            return "gave up"
        later = timezone.now() + dt.timedelta(minutes=2 ** (attempt - 1))
        autopay_invoice.using(run_after=later).enqueue(invoice_id, attempt + 1)
        return "later"
    return outcome.outcome if outcome else "nothing to do"


@task()
def autopay_sweep(again: bool = True) -> int:
    """Charge the saved cards for the invoices issued since the last sweep (by the billing run, at
    Move in, or by hand), each once: a chain of keyport.lib.periodic. Billing issues invoices
    without knowing of payments; this is how a saved card pays them."""
    queued = 0
    for invoice_id in invoices_to_autopay():
        autopay_invoice.enqueue(invoice_id)
        queued += 1
    if again:
        chain_queue_next(autopay_sweep, dt.timedelta(minutes=settings.PAYMENTS_AUTOPAY_SWEEP_MINUTES))
    return queued

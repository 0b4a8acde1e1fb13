"""Online payment of invoices: Checkout from the portal's Pay, cards saved for automatic payment,
and what the provider tells by webhook. Every payment goes into billing through
billing.services.payment_record (which also ends an overdue lockout it settles), once per provider
payment however often and in whatever order it is told: by webhook, or by the tenant's return."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from keyport.audit.services import Actor, audit_changes, audit_record, changes_between
from keyport.billing.models import Invoice, InvoiceStatus, PaymentMethod
from keyport.billing.refunds import invoice_refund
from keyport.billing.services import payment_record
from keyport.contacts.models import Contact
from keyport.facilities.models import Location
from keyport.payments.models import AutopayAttempt, AutopayOutcome, OnlinePayment, PaymentSettings, SavedCard
from keyport.payments.providers import stripe_api
from keyport.payments.providers.stripe_api import BadSignature, CardDeclined, PaymentServiceDown, StripeKeys
from keyport.payments.queries import stripe_keys_for

logger = logging.getLogger(__name__)

PROVIDER = Actor.system("Stripe")
INVOICE_KEY = "keyport_invoice"
AUTOPAY_KEY = "keyport_autopay"

__all__ = ["BadSignature", "CardDeclined", "PaymentServiceDown"]


@transaction.atomic
def payment_settings_update(
    *,
    actor: Actor,
    location: Location,
    bank_details: str,
    stripe_secret_key: str = "",
    stripe_webhook_secret: str = "",
    use_global_keys: bool = False,
) -> PaymentSettings:
    """A blank key keeps the one saved; `use_global_keys` drops the location's own keys."""
    row, _ = PaymentSettings.objects.select_for_update().get_or_create(location=location)
    before = {"bank_details": row.bank_details, "own_stripe_keys": bool(row.stripe_secret_key)}
    secret_changed = bool(stripe_secret_key or stripe_webhook_secret)
    row.bank_details = bank_details.strip()
    if use_global_keys:
        row.stripe_secret_key = row.stripe_webhook_secret = ""
    else:
        if stripe_secret_key:
            if not stripe_secret_key.startswith(("sk_", "rk_")):
                raise ValidationError({"stripe_secret_key": "A Stripe secret key starts with sk_ (or rk_)."})
            row.stripe_secret_key = stripe_secret_key.strip()
        if stripe_webhook_secret:
            if not stripe_webhook_secret.startswith("whsec_"):
                raise ValidationError(
                    {"stripe_webhook_secret": "A webhook signing secret starts with whsec_."}
                )
            row.stripe_webhook_secret = stripe_webhook_secret.strip()
        if row.stripe_secret_key and not row.stripe_webhook_secret:
            raise ValidationError(
                {"stripe_webhook_secret": "Give the signing secret of this location's webhook endpoint too."}
            )
    row.full_clean()
    row.save()
    after = {"bank_details": row.bank_details, "own_stripe_keys": bool(row.stripe_secret_key)}
    changed = changes_between(before, after)
    if secret_changed and not use_global_keys:
        changed["stripe_keys"] = ["", "replaced"]  # never the keys themselves
    audit_changes(
        actor=actor, action="payments.settings_updated", target=row, location=location, changed=changed
    )
    return row


def _metadata(invoice: Invoice, **more: str) -> dict[str, str]:
    return {INVOICE_KEY: str(invoice.pk), "invoice_number": invoice.number, **more}


def _keys_or_refuse(invoice: Invoice) -> StripeKeys:
    keys = stripe_keys_for(invoice.location)
    if keys is None:
        raise ValidationError("Online payment is not set up for this location.")
    if invoice.status != InvoiceStatus.OPEN or invoice.balance <= 0:
        raise ValidationError("This invoice has nothing left to pay.")
    return keys


def checkout_start(
    *, contact: Contact, invoice: Invoice, save_card: bool, return_url: str, cancel_url: str
) -> str:
    """The address of a Checkout page for the invoice's balance. Nothing is written: the payment
    is recorded when Stripe tells of it (webhook) or the tenant comes back (`checkout_return`)."""
    keys = _keys_or_refuse(invoice)
    card = SavedCard.objects.filter(customer=invoice.customer_id, location=invoice.location_id).first()
    amount = stripe_api.to_minor(invoice.balance, invoice.currency)
    session = stripe_api.checkout_session_create(
        keys,
        amount=amount,
        currency=invoice.currency,
        description=f"Invoice {invoice.number}",
        metadata=_metadata(invoice),
        success_url=f"{return_url}?session_id={{CHECKOUT_SESSION_ID}}",
        cancel_url=cancel_url,
        email=contact.email or "",
        customer=card.provider_customer if card and save_card else None,
        save_card=save_card,
        # A double click opens the same page; another amount, choice or payment since, another page.
        idempotency_key=(
            f"keyport-checkout-{invoice.pk}-{amount}-{contact.pk}-{int(save_card)}-"
            f"{invoice.online_payments.count()}"
        ),
    )
    return str(session["url"])


def checkout_return(*, invoice: Invoice, session_id: str) -> bool:
    """The tenant is back from Checkout: ask Stripe about the session (the address alone proves
    nothing) and record its payment unless a webhook did already. True when the invoice has it."""
    keys = stripe_keys_for(invoice.location)
    if keys is None or not session_id.startswith("cs_"):
        return False
    session = stripe_api.checkout_session_get(keys, session_id)
    if (session.get("metadata") or {}).get(INVOICE_KEY) != str(invoice.pk):
        return False
    if session.get("payment_status") != "paid" or not session.get("payment_intent"):
        return False
    intent = stripe_api.payment_intent_get(keys, str(session["payment_intent"]))
    online_payment_record(keys=keys, invoice=invoice, intent=intent)
    return True


def _amount_of(intent: Mapping[str, Any], invoice: Invoice) -> Decimal | None:
    if str(intent.get("currency", "")).upper() != invoice.currency:
        return None
    return stripe_api.from_minor(int(intent.get("amount_received") or intent["amount"]), invoice.currency)


def online_payment_record(
    *, keys: StripeKeys, invoice: Invoice, intent: Mapping[str, Any]
) -> OnlinePayment | None:
    """Record a succeeded payment intent on its invoice, once; None when it was recorded before
    or has not succeeded. A card the tenant chose to keep is saved for automatic payment."""
    amount = _amount_of(intent, invoice)
    if intent.get("status") != "succeeded" or amount is None:
        return None
    online = _online_payment_apply(invoice=invoice, ref=str(intent["id"]), amount=amount)
    if online is not None and intent.get("setup_future_usage") == "off_session" and intent.get("customer"):
        try:
            _card_keep(keys=keys, invoice=invoice, intent=intent)
        except PaymentServiceDown:
            logger.warning("The card of payment %s could not be saved: Stripe did not answer", online.pk)
    return online


@transaction.atomic
def _online_payment_apply(*, invoice: Invoice, ref: str, amount: Decimal) -> OnlinePayment | None:
    try:
        with transaction.atomic():
            online = OnlinePayment.objects.create(invoice=invoice, provider_ref=ref, amount=amount)
    except IntegrityError:
        return None  # told before: by the other webhook, a replay, or the tenant's return
    try:
        with transaction.atomic():
            online.payment = payment_record(
                actor=PROVIDER,
                invoice=invoice,
                amount=amount,
                received_on=invoice.location.local_now().date(),
                method=PaymentMethod.CARD,
                reference=ref,
            )
    except ValidationError as error:
        # Paid twice (two Checkout pages), or voided meanwhile: the money is at Stripe, for staff
        # to refund or apply; the audit log says so.
        online.not_applied_reason = " ".join(error.messages)[:300]
        logger.warning("Online payment %s was not applied to invoice %s", online.pk, invoice.pk)
        audit_record(
            actor=PROVIDER,
            action="invoice.online_payment_not_applied",
            target=invoice,
            location=invoice.location,
            customer=invoice.customer,
            details={"amount": str(amount), "reference": ref, "reason": online.not_applied_reason},
        )
    online.save(update_fields=["payment", "not_applied_reason"])
    AutopayAttempt.objects.filter(invoice=invoice, provider_ref=ref).update(outcome=AutopayOutcome.SUCCEEDED)
    return online


def _card_keep(*, keys: StripeKeys, invoice: Invoice, intent: Mapping[str, Any]) -> SavedCard:
    method = stripe_api.payment_method_get(keys, str(intent["payment_method"]))
    card = method.get("card") or {}
    with transaction.atomic():
        saved, created = SavedCard.objects.update_or_create(
            customer=invoice.customer,
            location=invoice.location,
            defaults={
                "provider_customer": str(intent["customer"]),
                "provider_method": str(method["id"]),
                "brand": str(card.get("brand", ""))[:32],
                "last4": str(card.get("last4", ""))[:4],
                "exp_month": card.get("exp_month"),
                "exp_year": card.get("exp_year"),
            },
        )
        audit_record(
            actor=PROVIDER,
            action="customer.card_saved",
            target=saved,
            location=invoice.location,
            customer=invoice.customer,
            details={"card": str(saved), "replaced": not created},
        )
    return saved


def saved_card_remove(*, actor: Actor, card: SavedCard) -> None:
    """The tenant no longer pays automatically: the card leaves Stripe's customer too."""
    keys = stripe_keys_for(card.location)
    if keys is not None:
        stripe_api.payment_method_detach(keys, card.provider_method)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="customer.card_removed",
            target=card,
            location=card.location,
            customer=card.customer,
            details={"card": str(card)},
        )
        card.delete()


def invoice_autopay(invoice: Invoice) -> AutopayAttempt | None:
    """Charge the customer's saved card for an issued invoice, once; None when there is nothing to
    do (no card, nothing to pay, online payment off, tried already). PaymentServiceDown when Stripe
    did not answer: call again, the idempotency key keeps it one charge."""
    invoice = Invoice.objects.select_related("location", "customer").get(pk=invoice.pk)
    keys = stripe_keys_for(invoice.location)
    card = SavedCard.objects.filter(customer=invoice.customer, location=invoice.location).first()
    if keys is None or card is None or invoice.status != InvoiceStatus.OPEN or invoice.balance <= 0:
        return None
    if invoice.autopay_attempts.exists():
        return None  # one automatic try an invoice: a declined card is not charged again and again
    amount = stripe_api.to_minor(invoice.balance, invoice.currency)
    try:
        intent = stripe_api.off_session_charge(
            keys,
            amount=amount,
            currency=invoice.currency,
            customer=card.provider_customer,
            payment_method=card.provider_method,
            description=f"Invoice {invoice.number}",
            metadata=_metadata(invoice, **{AUTOPAY_KEY: "1"}),
            idempotency_key=f"keyport-autopay-{invoice.pk}-{amount}",
        )
    except CardDeclined as declined:
        return autopay_failed(invoice=invoice, intent=declined.intent, message=declined.message)
    with transaction.atomic():
        attempt, _ = AutopayAttempt.objects.get_or_create(
            invoice=invoice, provider_ref=str(intent["id"]), defaults={"outcome": AutopayOutcome.PENDING}
        )
        if (
            online_payment_record(keys=keys, invoice=invoice, intent=intent) is not None
            or intent.get("status") == "succeeded"
        ):
            attempt.outcome = AutopayOutcome.SUCCEEDED
            attempt.save(update_fields=["outcome"])
    return attempt


@transaction.atomic
def autopay_failed(*, invoice: Invoice, intent: Mapping[str, Any], message: str = "") -> AutopayAttempt:
    """A saved card was declined (told by the charge's answer or by webhook, once either way)."""
    message = message or str(
        (intent.get("last_payment_error") or {}).get("message") or "The card was declined."
    )
    attempt, created = AutopayAttempt.objects.get_or_create(
        invoice=invoice,
        provider_ref=str(intent.get("id", "")),
        defaults={"outcome": AutopayOutcome.FAILED, "message": message[:300]},
    )
    if not created and attempt.outcome != AutopayOutcome.PENDING:
        return attempt
    attempt.outcome = AutopayOutcome.FAILED
    attempt.message = message[:300]
    attempt.save(update_fields=["outcome", "message"])
    audit_record(
        actor=PROVIDER,
        action="invoice.autopay_failed",
        target=invoice,
        location=invoice.location,
        customer=invoice.customer,
        details={"reference": attempt.provider_ref, "message": attempt.message},
    )
    return attempt


def refund_record(*, keys: StripeKeys, invoice: Invoice, charge: Mapping[str, Any]) -> Decimal:
    """A refund of a charge (charge.refunded tells the total refunded so far): what is new of it
    reopens the invoice. A refund told before its payment records the payment first."""
    ref = str(charge.get("payment_intent") or "")
    if not OnlinePayment.objects.filter(provider_ref=ref).exists():
        online_payment_record(keys=keys, invoice=invoice, intent=stripe_api.payment_intent_get(keys, ref))
    with transaction.atomic():
        online = OnlinePayment.objects.select_for_update().filter(provider_ref=ref, invoice=invoice).first()
        if online is None:
            return Decimal("0.00")
        total = stripe_api.from_minor(int(charge.get("amount_refunded") or 0), invoice.currency)
        new = min(total, online.amount) - online.amount_refunded
        if new <= 0:
            return Decimal("0.00")  # told before
        online.amount_refunded += new
        online.save(update_fields=["amount_refunded"])
        if online.payment_id is not None:
            invoice_refund(actor=PROVIDER, invoice=invoice, amount=new, reference=ref)
        return new


@dataclass(frozen=True)
class WebhookOutcome:
    status: int
    what: str


def webhook_receive(*, payload: bytes, signature: str, location_id: int | None) -> WebhookOutcome:
    """A webhook from Stripe, to the install's endpoint or a location's (`?location=<id>`), checked
    with that endpoint's signing secret. It acts only on an invoice of a location whose keys have
    that secret. 503 (Stripe sends it again later) when Stripe's API does not answer meanwhile."""
    if location_id is None:
        secret = settings.STRIPE_WEBHOOK_SECRET
    else:
        location = Location.objects.filter(pk=location_id).first()
        keys = stripe_keys_for(location) if location else None
        secret = keys.webhook_secret if keys else ""
    if not secret:
        raise BadSignature("No webhook signing secret is set for this endpoint.")
    event = stripe_api.webhook_event(payload, signature, secret)
    kind = str(event.get("type", ""))
    obj = (event.get("data") or {}).get("object") or {}
    invoice = _invoice_of(obj)
    keys = stripe_keys_for(invoice.location) if invoice else None
    if invoice is None or keys is None or not hmac.compare_digest(keys.webhook_secret, secret):
        return WebhookOutcome(200, "not ours")
    try:
        return WebhookOutcome(200, _event_apply(keys=keys, invoice=invoice, kind=kind, obj=obj))
    except PaymentServiceDown:
        logger.warning("Webhook %s of invoice %s waits: Stripe's API did not answer", kind, invoice.pk)
        return WebhookOutcome(503, "try again")


def _invoice_of(obj: Mapping[str, Any]) -> Invoice | None:
    """The invoice an event's object is about: named in its metadata (Keyport sets it on sessions
    and payment intents), else, for a charge without it, by the payment it belongs to."""
    invoice_id = str((obj.get("metadata") or {}).get(INVOICE_KEY, ""))
    invoices = Invoice.objects.select_related("location", "customer")
    if invoice_id.isdigit():
        return invoices.filter(pk=int(invoice_id)).first()
    if obj.get("object") == "charge" and obj.get("payment_intent"):
        return invoices.filter(online_payments__provider_ref=str(obj["payment_intent"])).first()
    return None


def _event_apply(*, keys: StripeKeys, invoice: Invoice, kind: str, obj: Mapping[str, Any]) -> str:
    if kind == "checkout.session.completed":
        if obj.get("payment_status") != "paid" or not obj.get("payment_intent"):
            return "not paid yet"
        intent = stripe_api.payment_intent_get(keys, str(obj["payment_intent"]))
        return "recorded" if online_payment_record(keys=keys, invoice=invoice, intent=intent) else "known"
    if kind == "payment_intent.succeeded":
        return "recorded" if online_payment_record(keys=keys, invoice=invoice, intent=obj) else "known"
    if kind == "payment_intent.payment_failed":
        if (obj.get("metadata") or {}).get(AUTOPAY_KEY) == "1":
            autopay_failed(invoice=invoice, intent=obj)
        return "failed"
    if kind == "charge.refunded":
        return "refunded" if refund_record(keys=keys, invoice=invoice, charge=obj) else "known"
    return "ignored"

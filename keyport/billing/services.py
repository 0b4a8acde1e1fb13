import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from keyport.access.models import OVERDUE_REASON, BookingAccess, RevocationOrigin
from keyport.access.services import booking_restore_access, booking_revoke_access
from keyport.audit.services import Actor, audit_changes, audit_record, changes_between
from keyport.billing.emails import (
    invoice_issued_email,
    lock_warning_email,
    payment_received_email,
    payment_reminder_email,
)
from keyport.billing.models import (
    CENT,
    BillingProfile,
    BillingSettings,
    Invoice,
    InvoiceEmail,
    InvoiceEmailKind,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
from keyport.billing.queries import is_lockout_exempt, was_told_before_lockout
from keyport.bookings.models import Booking
from keyport.contacts.models import Customer
from keyport.facilities.models import Location

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal = Decimal("0")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# The settings of how rent is billed and chased, beside currency, numbering and the lockout.
RULE_FIELDS = ("billing_anchor", "issue_days_before", "vat_rate", "reminder_days_after", "lock_warning_days")


def billing_settings_of(location: Location) -> BillingSettings:
    settings, _ = BillingSettings.objects.get_or_create(location=location)
    return settings


@transaction.atomic
def billing_settings_update(
    *,
    actor: Actor,
    location: Location,
    currency: str,
    invoice_prefix: str,
    grace_days: int,
    lockout_enabled: bool,
    **rules: object,
) -> BillingSettings:
    """Change a location's billing settings; `rules` are any of RULE_FIELDS (how rent is billed,
    VAT, reminders)."""
    unknown = set(rules) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"Not billing settings: {', '.join(sorted(unknown))}")
    settings = BillingSettings.objects.select_for_update().get(pk=billing_settings_of(location).pk)
    before = {
        "currency": settings.currency,
        "invoice_prefix": settings.invoice_prefix,
        "grace_days": settings.grace_days,
        "lockout_enabled": settings.lockout_enabled,
        **{name: getattr(settings, name) for name in RULE_FIELDS},
    }
    used = Invoice.objects.filter(location=location).exists()
    if used and currency.upper() != settings.currency:
        raise ValidationError({"currency": "This location has invoices; its currency can no longer change."})
    settings.currency = currency.strip().upper()
    settings.invoice_prefix = invoice_prefix.strip().upper()
    settings.grace_days = grace_days
    settings.lockout_enabled = lockout_enabled
    for name, value in rules.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    after = {key: getattr(settings, key) for key in before}
    before = {key: str(value) if isinstance(value, Decimal) else value for key, value in before.items()}
    after = {key: str(value) if isinstance(value, Decimal) else value for key, value in after.items()}
    audit_changes(
        actor=actor,
        action="billing.settings_updated",
        target=settings,
        location=location,
        changed=changes_between(before, after),
    )
    return settings


def _lines(invoice: Invoice, lines: Sequence[LineInput]) -> list[InvoiceLine]:
    if not lines:
        raise ValidationError({"lines": "An invoice needs at least one line."})
    built = []
    for position, line in enumerate(lines, start=1):
        net = money(line.quantity * line.unit_price)
        built.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=line.description.strip(),
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_rate=line.tax_rate,
                net_amount=net,
                tax_amount=money(net * line.tax_rate / 100),
            )
        )
    for item in built:
        item.full_clean(exclude=["invoice"])
    return built


@transaction.atomic
def invoice_create(
    *,
    actor: Actor,
    location: Location,
    customer: Customer,
    due_on: dt.date,
    lines: Sequence[LineInput],
    booking: Booking | None = None,
) -> Invoice:
    """A Draft invoice in the location's currency; totals come from the lines, exactly."""
    if booking is not None and (booking.customer_id != customer.pk or booking.location_id != location.pk):
        raise ValidationError({"booking": "Choose a booking of this customer at this location."})
    invoice = Invoice(
        location=location,
        customer=customer,
        booking=booking,
        due_on=due_on,
        currency=billing_settings_of(location).currency,
    )
    built = _lines(invoice, lines)
    invoice.subtotal = sum((line.net_amount for line in built), Decimal("0.00"))
    invoice.tax_total = sum((line.tax_amount for line in built), Decimal("0.00"))
    invoice.total = invoice.subtotal + invoice.tax_total
    if invoice.total < 0:
        # Nobody could pay it, and it would stay Open: a credit is given by voiding or lowering lines.
        raise ValidationError({"lines": "An invoice's total cannot be below zero."})
    invoice.save()
    InvoiceLine.objects.bulk_create(built)
    audit_record(
        actor=actor,
        action="invoice.created",
        target=invoice,
        location=location,
        customer=customer,
        details={"total": str(invoice.total), "currency": invoice.currency},
    )
    return invoice


def _locked_invoice(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().select_related("location", "customer").get(pk=invoice.pk)


@transaction.atomic
def invoice_issue(
    *, actor: Actor, invoice: Invoice, issued_on: dt.date | None = None, email: bool = True
) -> Invoice:
    """Draft → Open (Paid at once when it totals zero): the invoice takes the next number of its
    location's sequence, and is emailed unless `email` is False (an imported balance: imported
    tenants hear nothing before their invite, and an invoice never sent locks no door)."""
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ValidationError("Only a draft invoice can be issued.")
    sequence = BillingSettings.objects.select_for_update().get(pk=billing_settings_of(invoice.location).pk)
    invoice.number = f"{sequence.invoice_prefix}-{sequence.next_invoice_number:05d}"
    sequence.next_invoice_number += 1
    sequence.save(update_fields=["next_invoice_number"])
    invoice.status = InvoiceStatus.OPEN
    invoice.issued_on = issued_on or invoice.location.local_now().date()
    fields = ["number", "status", "issued_on"]
    if invoice.total == 0:
        # Nothing to pay, so no payment would ever close it, and Open it would lock access.
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        fields.append("paid_at")
    invoice.save(update_fields=fields)
    _invoice_audit(
        actor=actor,
        action="invoice.issued",
        invoice=invoice,
    )
    if email and invoice.status == InvoiceStatus.OPEN:
        invoice_issued_email(invoice=invoice)
    return invoice


@transaction.atomic
def invoice_void(*, actor: Actor, invoice: Invoice, reason: str) -> Invoice:
    invoice = _locked_invoice(invoice)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the invoice is void."})
    if invoice.status not in (InvoiceStatus.DRAFT, InvoiceStatus.OPEN):
        raise ValidationError("Only a draft or open invoice can be voided.")
    if invoice.amount_paid:
        raise ValidationError("This invoice has payments; it cannot be voided.")
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason.strip()[:200]
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    _invoice_audit(
        actor=actor,
        action="invoice.voided",
        invoice=invoice,
        details={"reason": invoice.void_reason},
    )
    _release_access_lock(actor=actor, invoice=invoice)
    return invoice


@transaction.atomic
def invoice_void_for_move_out(
    *, actor: Actor, invoice: Invoice, last_day: dt.date, reason: str = "Moved out"
) -> Invoice:
    """Void an unpaid rent invoice whose days no longer match its booking's (a move-out, or one
    called off); its period is free to be billed again."""
    invoice = invoice_void(actor=actor, invoice=invoice, reason=f"{reason}: last day {last_day.isoformat()}")
    invoice.period_starts_on = invoice.period_ends_on = None
    invoice.save(update_fields=["period_starts_on", "period_ends_on"])
    return invoice


@transaction.atomic
def payment_record(
    *,
    actor: Actor,
    invoice: Invoice,
    amount: Decimal,
    received_on: dt.date,
    method: str = PaymentMethod.BANK_TRANSFER,
    reference: str = "",
) -> Payment:
    """Record money received; the invoice is Paid when nothing is left, and a lockout it caused ends."""
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.OPEN:
        raise ValidationError("Payments are recorded against open invoices only.")
    if amount <= 0:
        raise ValidationError({"amount": "The amount must be more than zero."})
    if money(amount) != amount:
        raise ValidationError({"amount": "Give the amount in whole cents."})
    if amount > invoice.balance:
        raise ValidationError({"amount": f"More than the balance of {invoice.balance} {invoice.currency}."})
    payment = Payment(
        invoice=invoice,
        amount=amount,
        received_on=received_on,
        method=method,
        reference=reference.strip(),
        recorded_by=actor.label[:200],
    )
    payment.full_clean()
    payment.save()
    invoice.amount_paid += amount
    fields = ["amount_paid"]
    if invoice.balance == 0:
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
        fields += ["status", "paid_at"]
    invoice.save(update_fields=fields)
    _invoice_audit(
        actor=actor,
        action="invoice.payment_recorded",
        invoice=invoice,
        details={"amount": str(amount), "currency": invoice.currency, "balance": str(invoice.balance)},
    )
    payment_received_email(invoice=invoice, amount=amount)
    if invoice.status == InvoiceStatus.PAID:
        _release_access_lock(actor=actor, invoice=invoice)
    return payment


@transaction.atomic
def customer_set_lockout_exempt(*, actor: Actor, customer: Customer, exempt: bool) -> BillingProfile:
    """Mark a customer exempt from the overdue lockout; locks already in place end at once."""
    profile, _ = BillingProfile.objects.select_for_update().get_or_create(customer=customer)
    if profile.lockout_exempt == exempt:
        return profile
    profile.lockout_exempt = exempt
    profile.save(update_fields=["lockout_exempt"])
    audit_record(
        actor=actor,
        action="customer.lockout_exempted" if exempt else "customer.lockout_exemption_ended",
        target=customer,
        customer=customer,
    )
    if exempt:
        for invoice in Invoice.objects.filter(customer=customer, access_locked_at__isnull=False):
            _release_access_lock(actor=actor, invoice=invoice)
    return profile


def invoices_lock_overdue(*, now: dt.datetime | None = None) -> int:
    """The periodic check: lock the booking of every Open invoice past its location's grace days.

    Each invoice is locked in its own transaction, so one failure leaves the others done.
    """
    now = now or timezone.now()
    candidates = (
        Invoice.objects.filter(
            status=InvoiceStatus.OPEN,
            booking__isnull=False,
            access_locked_at__isnull=True,
            due_on__lt=now.date() + dt.timedelta(days=1),
        )
        .exclude(customer__billing_profile__lockout_exempt=True)
        .select_related("location")
        .order_by("due_on", "pk")
    )
    rules = {s.location_id: s for s in BillingSettings.objects.all()}
    locked = 0
    for invoice in candidates.iterator():
        rule = rules.get(invoice.location_id) or BillingSettings(location=invoice.location)
        today = now.astimezone(invoice.location.zone).date()
        if rule.lockout_enabled and today >= invoice.locks_on(rule.grace_days):
            try:
                if invoice_lock_access(invoice=invoice, now=now):
                    locked += 1
            except Exception:  # One invoice that fails must not stop the check for the others.
                logger.exception("Could not lock access for overdue invoice %s", invoice.pk)
    return locked


def invoices_remind(*, now: dt.datetime | None = None) -> int:
    """The periodic reminders of Open invoices, each once, by the invoice's local day: a Payment
    reminder on the due date and `reminder_days_after` days later, and, where the lockout could
    lock the booking, Access will be locked `lock_warning_days` before the grace days end.
    How many emails went out."""
    now = now or timezone.now()
    rules = {s.location_id: s for s in BillingSettings.objects.all()}
    sent = 0
    candidates = (
        Invoice.objects.filter(status=InvoiceStatus.OPEN, due_on__lte=now.date() + dt.timedelta(days=1))
        .select_related("location", "customer")
        .order_by("due_on", "pk")
    )
    for invoice in candidates.iterator():
        rule = rules.get(invoice.location_id) or BillingSettings(location=invoice.location)
        try:
            sent += invoice_remind(
                invoice=invoice, rule=rule, today=now.astimezone(invoice.location.zone).date()
            )
        except Exception:  # One invoice that fails must not stop the reminders of the others.
            logger.exception("Could not remind of invoice %s", invoice.pk)
    return sent


@transaction.atomic
def invoice_remind(*, invoice: Invoice, rule: BillingSettings, today: dt.date) -> int:
    """Send the reminders due today for one invoice that have not gone out; how many emails."""
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.OPEN:
        return 0
    done = set(InvoiceEmail.objects.filter(invoice=invoice).values_list("kind", flat=True))
    sent = 0
    if today >= invoice.due_on and InvoiceEmailKind.REMINDER_DUE not in done:
        sent += len(payment_reminder_email(invoice=invoice, late=False))
    late_on = invoice.due_on + dt.timedelta(days=rule.reminder_days_after)
    if rule.reminder_days_after and today >= late_on and InvoiceEmailKind.REMINDER_LATE not in done:
        sent += len(payment_reminder_email(invoice=invoice, late=True))
    locks_on = invoice.locks_on(rule.grace_days)
    warn_on = locks_on - dt.timedelta(days=rule.lock_warning_days)
    may_lock = (
        rule.lockout_enabled and invoice.booking_id is not None and not is_lockout_exempt(invoice.customer)
    )
    if may_lock and today >= warn_on and InvoiceEmailKind.LOCK_WARNING not in done:
        sent += len(lock_warning_email(invoice=invoice, locks_on=max(locks_on, today)))
    return sent


@transaction.atomic
def invoice_lock_access(*, invoice: Invoice, now: dt.datetime) -> bool:
    """Lock the access of an overdue invoice's booking; False when it no longer applies."""
    invoice = _locked_invoice(invoice)
    if invoice.status != InvoiceStatus.OPEN or invoice.booking_id is None or invoice.access_locked_at:
        return False
    if is_lockout_exempt(invoice.customer):
        return False
    if not was_told_before_lockout(invoice):
        # Never silently: the tenant has had the invoice and the lock warning first.
        return False
    booking = Booking.objects.get(pk=invoice.booking_id)
    revoked = booking.access_is_revoked()
    if revoked and not booking.invoices.filter(access_locked_at__isnull=False).exists():
        # Revoked by staff for another reason: lock once they give access back, not before,
        # or giving it back would also end the lockout.
        return False
    invoice.access_locked_at = now
    invoice.save(update_fields=["access_locked_at"])
    actor = Actor.system("overdue lockout")
    _invoice_audit(
        actor=actor,
        action="invoice.access_locked",
        invoice=invoice,
        details={"booking": booking.pk, "reason": OVERDUE_REASON},
    )
    # Access may be open although another invoice holds a lock: staff gave it back by hand.
    if not revoked:
        booking_access_revoke_for_overdue(actor=actor, booking=booking)
    return True


def _release_access_lock(*, actor: Actor, invoice: Invoice) -> None:
    """This invoice no longer holds its booking locked; access returns when no other invoice does."""
    if invoice.access_locked_at is None or invoice.booking_id is None:
        return
    invoice.access_locked_at = None
    invoice.save(update_fields=["access_locked_at"])
    booking = Booking.objects.get(pk=invoice.booking_id)
    _invoice_audit(
        actor=actor,
        action="invoice.access_unlocked",
        invoice=invoice,
        details={"booking": booking.pk},
    )
    if not booking.invoices.filter(access_locked_at__isnull=False).exists():
        booking_access_restore_after_payment(actor=actor, booking=booking)


def booking_access_revoke_for_overdue(*, actor: Actor, booking: Booking) -> None:
    """The one place billing asks the access engine to revoke a booking's access (grants and shares).

    The access engine revokes at the provider too and emails the people concerned.
    """

    booking_revoke_access(
        actor=actor, booking=booking, reason=OVERDUE_REASON, origin=RevocationOrigin.OVERDUE
    )


def booking_access_restore_after_payment(*, actor: Actor, booking: Booking) -> None:
    """The one place billing asks the access engine to give a booking its access back.

    Only a lockout billing made is undone: access staff revoked for another reason stays revoked.
    """

    state = BookingAccess.objects.filter(booking=booking).first()
    if state is None or not state.is_overdue_lock:
        return
    booking_restore_access(actor=actor, booking=booking)


def _invoice_audit(
    *, actor: Actor, action: str, invoice: Invoice, details: dict[str, object] | None = None
) -> None:
    audit_record(
        actor=actor,
        action=action,
        target=invoice,
        location=invoice.location,
        customer=invoice.customer,
        details=details,
    )

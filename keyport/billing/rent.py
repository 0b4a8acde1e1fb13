"""Rent invoices that issue themselves from bookings: the billing run, and the first invoice at Move in.

Each booking bills its units' monthly rents per period (keyport.billing.periods). The run issues a
booking's invoice for its next period `issue_days_before` days before that period starts, in
batches, each batch one transaction holding its location's invoice sequence, so numbers have no
gaps and two runs at once wait for each other. The unique (booking, period start) constraint is
the backstop: a period is billed once, whoever runs billing and however often.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from keyport.audit.services import Actor, audit_record
from keyport.billing.models import BillingSettings, Invoice, InvoiceLine, InvoiceStatus
from keyport.billing.periods import BillingAnchor, Period, next_period, period_containing, prorated
from keyport.billing.services import billing_settings_of, invoice_void_for_move_out, money
from keyport.bookings.models import Booking, BookingStatus, BookingUnit
from keyport.facilities.models import Location, UnitKind
from keyport.lib.background import enqueue_on_commit
from keyport.lib.times import local_day

logger = logging.getLogger(__name__)

RUN_ACTOR = Actor.system("billing run")
BATCH_SIZE = 1000
MAX_RETRIES = 3


@dataclass(frozen=True)
class RentLine:
    description: str
    amount: Decimal


@dataclass(frozen=True)
class UnitRent:
    """One unit of a booking as billing reads it: its name, its days and its monthly rent."""

    unit: str
    starts_on: dt.date
    ends_on: dt.date | None
    monthly_rent: Decimal


@dataclass(frozen=True)
class Billable:
    """A booking as billing reads it: plain values, read in bulk (model instances with their
    caches would cost the run more time than the billing itself, and their reference cycles
    would hold memory until the garbage collector runs)."""

    pk: int
    location_id: int
    customer_id: int
    starts_on: dt.date
    ends_on: dt.date | None
    last_period_start: dt.date | None
    units: tuple[UnitRent, ...]


def rent_lines(units: Sequence[UnitRent], period: Period) -> list[RentLine]:
    """One line per unit held in the period: its monthly rent for the days it is held, over the
    days of the whole period."""
    lines = []
    for row in units:
        days = period.days_of(row.starts_on, row.ends_on)
        if days == 0:
            continue
        span = f"{local_day(period.starts_on)} – {local_day(period.ends_on)}"
        if days != period.full_days:
            span += f" ({days} of {period.full_days} days)"
        lines.append(RentLine(f"{row.unit} rent, {span}", prorated(row.monthly_rent, days, period.full_days)))
    return lines


def billables(bookings: QuerySet[Booking]) -> list[Billable]:
    """These bookings as billing reads them, in two queries."""
    last_billed = (
        Invoice.objects.filter(booking=OuterRef("pk"), period_starts_on__isnull=False)
        .order_by("-period_starts_on")
        .values("period_starts_on")[:1]
    )
    rows = list(
        bookings.annotate(last_period_start=Subquery(last_billed)).values_list(
            "pk", "location_id", "customer_id", "starts_on", "ends_on", "last_period_start"
        )
    )
    units: dict[int, list[UnitRent]] = {}
    held = (
        BookingUnit.objects.filter(booking_id__in=[row[0] for row in rows], is_cancelled=False)
        .order_by("unit__number")
        .values_list("booking_id", "unit__kind", "unit__number", "starts_on", "ends_on", "monthly_rent")
    )
    for booking_id, kind, number, starts_on, ends_on, rent in held:
        units.setdefault(booking_id, []).append(
            UnitRent(f"{UnitKind(kind).label} {number}", starts_on, ends_on, rent)
        )
    return [Billable(*row, units=tuple(units.get(row[0], ()))) for row in rows]


def _rent_invoice(
    *,
    booking: Billable,
    period: Period,
    rules: BillingSettings,
    today: dt.date,
) -> tuple[Invoice, list[InvoiceLine]] | None:
    lines = rent_lines(booking.units, period)
    if not lines:
        return None
    invoice = Invoice(
        location_id=booking.location_id,
        customer_id=booking.customer_id,
        booking_id=booking.pk,
        status=InvoiceStatus.OPEN,
        currency=rules.currency,
        issued_on=today,
        due_on=max(period.starts_on, today),
        period_starts_on=period.starts_on,
        period_ends_on=period.ends_on,
    )
    built = []
    for position, line in enumerate(lines, start=1):
        tax = money(line.amount * rules.vat_rate / 100)
        built.append(
            InvoiceLine(
                invoice=invoice,
                position=position,
                description=line.description[:200],
                quantity=Decimal("1"),
                unit_price=line.amount,
                tax_rate=rules.vat_rate,
                net_amount=line.amount,
                tax_amount=tax,
            )
        )
    invoice.subtotal = sum((line.net_amount for line in built), Decimal("0.00"))
    invoice.tax_total = sum((line.tax_amount for line in built), Decimal("0.00"))
    invoice.total = invoice.subtotal + invoice.tax_total
    if invoice.total == 0:
        # Nothing to pay: Open, it would wait for a payment that never comes, and lock access.
        invoice.status = InvoiceStatus.PAID
        invoice.paid_at = timezone.now()
    return invoice, built


def _periods_due(
    booking: Billable, *, anchor: BillingAnchor, last_start: dt.date | None, until: dt.date
) -> Iterator[Period]:
    """The booking's periods not billed yet that start on or before `until`."""
    after = last_start
    while True:
        period = next_period(
            anchor=anchor, booking_starts_on=booking.starts_on, booking_ends_on=booking.ends_on, after=after
        )
        if period is None or period.starts_on > until:
            return
        yield period
        after = period.starts_on


def _issue(
    rules: BillingSettings,
    bookings: Sequence[Billable],
    *,
    today: dt.date,
    until: dt.date,
    only_first: bool = False,
) -> list[Invoice]:
    """Issue the invoices of these bookings' periods that start by `until`; `rules` is the
    location's billing settings, locked by the caller (the invoice sequence)."""
    anchor = BillingAnchor(rules.billing_anchor)
    invoices: list[Invoice] = []
    lines: list[InvoiceLine] = []
    for booking in bookings:
        for period in _periods_due(booking, anchor=anchor, last_start=booking.last_period_start, until=until):
            made = _rent_invoice(booking=booking, period=period, rules=rules, today=today)
            if made is not None:
                invoices.append(made[0])
                lines.extend(made[1])
            if only_first:
                break
    if not invoices:
        return []
    first = rules.next_invoice_number
    for offset, invoice in enumerate(invoices):
        invoice.number = f"{rules.invoice_prefix}-{first + offset:05d}"
    rules.next_invoice_number = first + len(invoices)
    rules.save(update_fields=["next_invoice_number"])
    Invoice.objects.bulk_create(invoices)
    for line in lines:
        line.invoice_id = line.invoice.pk
    InvoiceLine.objects.bulk_create(lines)
    audit_record(
        actor=RUN_ACTOR,
        action="billing.rent_invoices_issued",
        target=rules,
        location=rules.location,
        details={"count": len(invoices), "numbers": [invoices[0].number, invoices[-1].number]},
    )
    _email_on_commit([invoice.pk for invoice in invoices if invoice.status == InvoiceStatus.OPEN])
    return invoices


def _email_on_commit(invoice_ids: list[int]) -> None:
    from keyport.billing.tasks import invoices_email

    if invoice_ids:
        enqueue_on_commit(invoices_email, invoice_ids)


def _bookings_to_bill(location: Location, *, today: dt.date, until: dt.date) -> Q:
    # A booking that ended over a year ago has long been billed; one back-dated that far is
    # billed from its move-in (booking_invoice_first), and the run carries on from there.
    return Q(
        location=location,
        status=BookingStatus.CONFIRMED,
        starts_on__lte=until,
    ) & (Q(ends_on__isnull=True) | Q(ends_on__gte=today - dt.timedelta(days=366)))


def billing_run_location(
    *, location: Location, today: dt.date | None = None, batch_size: int = BATCH_SIZE
) -> int:
    """Issue every invoice due at this location today; how many were issued. Safe to run twice or
    in two workers at once: nothing is issued twice."""
    rules = billing_settings_of(location)
    today = today or location.local_now().date()
    until = today + dt.timedelta(days=rules.issue_days_before)
    issued = 0
    after_id = 0
    retries = 0
    while True:
        try:
            with transaction.atomic():
                # The sequence row, locked first: another run of this location waits here, and
                # then sees what this one issued.
                locked = (
                    BillingSettings.objects.select_for_update().select_related("location").get(pk=rules.pk)
                )
                bookings = billables(
                    Booking.objects.filter(
                        _bookings_to_bill(location, today=today, until=until), pk__gt=after_id
                    ).order_by("pk")[:batch_size]
                )
                if not bookings:
                    break
                issued += len(_issue(locked, bookings, today=today, until=until))
        except IntegrityError:
            # Another process billed one of these periods between our read and our write (SQLite
            # takes its write lock only at the first write): read this batch again.
            retries += 1
            if retries > MAX_RETRIES:
                raise
            logger.info("Billing run at %s met a concurrent run; reading the batch again", location.pk)
            continue
        after_id = bookings[-1].pk
    BillingSettings.objects.filter(pk=rules.pk).update(last_run_on=today)
    return issued


def locations_due_for_billing(*, now: dt.datetime | None = None) -> list[Location]:
    """The locations whose local day has begun since their last billing run."""
    now = now or timezone.now()
    last_runs = dict(BillingSettings.objects.values_list("location_id", "last_run_on"))
    due = []
    for location in Location.objects.order_by("pk"):
        last = last_runs.get(location.pk)
        if last is None or last < now.astimezone(location.zone).date():
            due.append(location)
    return due


@transaction.atomic
def booking_invoice_first(*, booking: Booking) -> Invoice | None:
    """The booking's first invoice, at Move in: its first period, prorated when partial, issued
    today whenever that period starts. The run bills the periods after it."""
    rules = (
        BillingSettings.objects.select_for_update()
        .select_related("location")
        .get(pk=billing_settings_of(booking.location).pk)
    )
    if Invoice.objects.filter(booking=booking, period_starts_on__isnull=False).exists():
        return None
    today = booking.location.local_now().date()
    issued = _issue(
        rules,
        billables(Booking.objects.filter(pk=booking.pk)),
        today=today,
        until=dt.date.max,
        only_first=True,
    )
    return issued[0] if issued else None


@transaction.atomic
def booking_billing_end(*, actor: Actor, booking: Booking) -> list[Invoice]:
    """A move-out ends billing: the booking's rent invoices for days after its last day that are
    still unpaid are voided, and the period its last day falls in is billed again, prorated (a
    cancelled booking's are all voided). An invoice with payments stays as it is (a refund is the
    operator's call). The new invoices."""
    booking = Booking.objects.select_related("location").get(pk=booking.pk)
    if booking.ends_on is None and not booking.is_cancelled:
        return []
    last_day = booking.starts_on - dt.timedelta(days=1)
    if not booking.is_cancelled and booking.ends_on is not None:
        last_day = booking.ends_on
    beyond = Invoice.objects.select_for_update().filter(
        booking=booking,
        period_ends_on__gt=last_day,
        status=InvoiceStatus.OPEN,
        amount_paid=0,
    )
    rebill = False
    for invoice in beyond:
        rebill = rebill or (invoice.period_starts_on is not None and invoice.period_starts_on <= last_day)
        invoice_void_for_move_out(actor=actor, invoice=invoice, last_day=last_day)
    if not rebill:
        return []
    rules = (
        BillingSettings.objects.select_for_update()
        .select_related("location")
        .get(pk=billing_settings_of(booking.location).pk)
    )
    today = booking.location.local_now().date()
    return _issue(rules, billables(Booking.objects.filter(pk=booking.pk)), today=today, until=last_day)


@transaction.atomic
def booking_billing_resume(*, actor: Actor, booking: Booking) -> list[Invoice]:
    """A move-out called off: the last period, billed cut at the old last day and still unpaid, is
    billed again whole (paid, the days after the old last day are the operator's to bill)."""
    booking = Booking.objects.select_related("location").get(pk=booking.pk)
    last = (
        Invoice.objects.select_for_update()
        .filter(booking=booking, period_starts_on__isnull=False)
        .order_by("-period_starts_on")
        .first()
    )
    if last is None or last.period_starts_on is None or last.period_ends_on is None:
        return []
    rules = (
        BillingSettings.objects.select_for_update()
        .select_related("location")
        .get(pk=billing_settings_of(booking.location).pk)
    )
    whole = period_containing(
        last.period_starts_on,
        anchor=BillingAnchor(rules.billing_anchor),
        booking_starts_on=booking.starts_on,
        booking_ends_on=booking.ends_on,
    )
    unpaid = last.status == InvoiceStatus.OPEN and last.amount_paid == 0
    if whole is None or whole.ends_on <= last.period_ends_on or not unpaid:
        return []
    start = last.period_starts_on
    invoice_void_for_move_out(
        actor=actor, invoice=last, last_day=last.period_ends_on, reason="Move-out called off"
    )
    today = booking.location.local_now().date()
    return _issue(rules, billables(Booking.objects.filter(pk=booking.pk)), today=today, until=start)

import datetime as dt
import re
import zlib
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from keyport.access.models import BookingAccess
from keyport.audit.models import AuditEntry
from keyport.billing import services as billing
from keyport.billing.models import BillingSettings, Invoice, InvoiceStatus
from keyport.billing.pdf import invoice_pdf
from keyport.billing.queries import balances_of_customer, invoices_for_customer
from keyport.billing.services import LineInput
from tests.factories import CustomerFactory, LocationFactory, UnitFactory, booking_of, told_before_lockout

pytestmark = pytest.mark.django_db

RENT = LineInput(
    description="Unit A001, March", quantity=Decimal("1"), unit_price=Decimal("89.90"), tax_rate=Decimal("19")
)


@pytest.fixture
def location():
    return LocationFactory(name="Berlin", time_zone="Europe/Berlin")


@pytest.fixture
def customer(location):
    return CustomerFactory(home_location=location)


@pytest.fixture
def booking(customer, location):
    return booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))


def open_invoice(actor, location, customer, booking=None, due_on=dt.date(2026, 3, 1), lines=(RENT,)):
    invoice = billing.invoice_create(
        actor=actor, location=location, customer=customer, booking=booking, due_on=due_on, lines=list(lines)
    )
    invoice = billing.invoice_issue(actor=actor, invoice=invoice, issued_on=dt.date(2026, 2, 1))
    return told_before_lockout(invoice) if booking is not None else invoice


def test_totals_are_exact_decimals_rounded_per_line(actor, location, customer):
    lines = [
        LineInput(
            description="Rent", quantity=Decimal("3"), unit_price=Decimal("0.10"), tax_rate=Decimal("19")
        ),
        LineInput(
            description="Lock", quantity=Decimal("1"), unit_price=Decimal("12.99"), tax_rate=Decimal("7")
        ),
    ]
    invoice = billing.invoice_create(
        actor=actor, location=location, customer=customer, due_on=dt.date(2026, 3, 1), lines=lines
    )
    assert invoice.subtotal == Decimal("13.29")
    assert invoice.tax_total == Decimal("0.06") + Decimal("0.91")
    assert invoice.total == Decimal("14.26")
    assert invoice.status == InvoiceStatus.DRAFT and invoice.number == ""
    assert invoice.currency == "EUR"


def test_an_invoice_needs_lines(actor, location, customer):
    with pytest.raises(ValidationError):
        billing.invoice_create(
            actor=actor, location=location, customer=customer, due_on=dt.date(2026, 3, 1), lines=[]
        )


def test_numbers_follow_each_locations_own_sequence(actor, location, customer):
    other = LocationFactory()
    BillingSettings.objects.create(location=other, invoice_prefix="AUS", currency="USD")
    first = open_invoice(actor, location, customer)
    second = open_invoice(actor, location, customer)
    elsewhere = open_invoice(actor, other, customer)
    assert (first.number, second.number) == ("INV-00001", "INV-00002")
    assert elsewhere.number == "AUS-00001" and elsewhere.currency == "USD"


def test_partial_then_full_payment_marks_paid(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("50.00"), received_on=dt.date(2026, 2, 5)
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.balance == Decimal("56.98")
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("56.98"), received_on=dt.date(2026, 2, 6)
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0


def test_overpayment_and_payments_on_drafts_are_refused(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    with pytest.raises(ValidationError):
        billing.payment_record(
            actor=actor, invoice=invoice, amount=Decimal("106.99"), received_on=dt.date(2026, 2, 5)
        )
    draft = billing.invoice_create(
        actor=actor, location=location, customer=customer, due_on=dt.date(2026, 3, 1), lines=[RENT]
    )
    with pytest.raises(ValidationError):
        billing.payment_record(
            actor=actor, invoice=draft, amount=Decimal("1.00"), received_on=dt.date(2026, 2, 5)
        )


def test_void_needs_a_reason_and_no_payments(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    with pytest.raises(ValidationError):
        billing.invoice_void(actor=actor, invoice=invoice, reason=" ")
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("1.00"), received_on=dt.date(2026, 2, 5)
    )
    with pytest.raises(ValidationError):
        billing.invoice_void(actor=actor, invoice=invoice, reason="wrong customer")


def test_portal_sees_no_drafts_and_the_balance_per_currency(actor, location, customer):
    open_invoice(actor, location, customer)
    billing.invoice_create(
        actor=actor, location=location, customer=customer, due_on=dt.date(2026, 3, 1), lines=[RENT]
    )
    assert invoices_for_customer(customer).count() == 1
    billing.payment_record(
        actor=actor,
        invoice=open_invoice(actor, location, customer),
        amount=Decimal("0.10"),
        received_on=dt.date(2026, 2, 5),
    )
    assert {k: str(v) for k, v in balances_of_customer(customer).items()} == {"EUR": "213.86"}


def pdf_text(data: bytes) -> str:
    """The text drawn on a PDF's pages (fpdf2 compresses each page's content stream)."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.DOTALL)
    return b"".join(zlib.decompress(stream) for stream in streams).decode("latin-1")


def test_the_pdf_is_a_pdf_with_the_number_lines_and_totals(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    data = invoice_pdf(invoice)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in ("Invoice INV-00001", "Unit A001, March", "89.90", "106.98 EUR", "Open"):
        assert expected in text, expected


def test_void_leaves_nothing_to_pay_and_takes_no_payments(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    billing.invoice_void(actor=actor, invoice=invoice, reason=" Wrong customer ")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.VOID and invoice.balance == 0
    assert invoice.void_reason == "Wrong customer" and invoice.voided_at is not None
    assert AuditEntry.objects.get(action="invoice.voided").details == {"reason": "Wrong customer"}
    assert balances_of_customer(customer) == {}
    assert invoice in invoices_for_customer(customer)  # still listed, marked Void
    with pytest.raises(ValidationError):
        billing.payment_record(
            actor=actor, invoice=invoice, amount=Decimal("1.00"), received_on=dt.date(2026, 2, 5)
        )
    with pytest.raises(ValidationError):
        billing.invoice_void(actor=actor, invoice=invoice, reason="again")


def test_a_paid_invoice_cannot_be_voided(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    billing.payment_record(
        actor=actor, invoice=invoice, amount=invoice.total, received_on=dt.date(2026, 2, 5)
    )
    with pytest.raises(ValidationError):
        billing.invoice_void(actor=actor, invoice=invoice, reason="changed our mind")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "0.005", "10.001"])
def test_a_payment_is_a_positive_amount_in_whole_cents(actor, location, customer, amount):
    invoice = open_invoice(actor, location, customer)
    with pytest.raises(ValidationError):
        billing.payment_record(
            actor=actor, invoice=invoice, amount=Decimal(amount), received_on=dt.date(2026, 2, 5)
        )
    invoice.refresh_from_db()
    assert invoice.amount_paid == 0 and not invoice.payments.exists()


def test_an_invoice_is_in_its_locations_one_currency(actor, location, customer):
    billing.billing_settings_update(
        actor=actor,
        location=location,
        currency="chf",
        invoice_prefix="ber",
        grace_days=14,
        lockout_enabled=True,
    )
    invoice = open_invoice(actor, location, customer)
    assert invoice.currency == "CHF" and invoice.number == "BER-00001"


def test_a_locations_currency_is_fixed_once_it_has_invoices(actor, location, customer):
    open_invoice(actor, location, customer)
    with pytest.raises(ValidationError) as error:
        billing.billing_settings_update(
            actor=actor,
            location=location,
            currency="USD",
            invoice_prefix="INV",
            grace_days=14,
            lockout_enabled=True,
        )
    assert "currency" in error.value.message_dict
    assert BillingSettings.objects.get(location=location).currency == "EUR"


def test_a_booking_of_another_customer_cannot_be_billed(actor, location, customer):
    theirs = booking_of(
        CustomerFactory(home_location=location), [UnitFactory(location=location)], dt.date(2026, 1, 1)
    )
    with pytest.raises(ValidationError):
        billing.invoice_create(
            actor=actor,
            location=location,
            customer=customer,
            booking=theirs,
            due_on=dt.date(2026, 3, 1),
            lines=[RENT],
        )
    assert not Invoice.objects.exists()


# The overdue lockout: due 1 March, 14 grace days → locked from 16 March, local time in Berlin.


def test_not_locked_within_the_grace_days(actor, location, customer, booking):
    invoice = open_invoice(actor, location, customer, booking)
    # 15 March 23:59 in Berlin is 22:59 UTC.
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 3, 15, 22, 59, tzinfo=dt.UTC)) == 0
    invoice.refresh_from_db()
    assert invoice.access_locked_at is None


def test_locked_after_the_grace_days_in_the_locations_zone(actor, location, customer, booking):
    invoice = open_invoice(actor, location, customer, booking)
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 3, 15, 23, 0, tzinfo=dt.UTC)) == 1
    invoice.refresh_from_db()
    assert invoice.access_locked_at is not None
    entry = AuditEntry.objects.get(action="invoice.access_locked")
    assert entry.details == {"booking": booking.pk, "reason": "overdue"}
    # Running again changes nothing.
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 3, 20, tzinfo=dt.UTC)) == 0


def test_grace_days_are_configurable_per_location(actor, location, customer, booking):
    BillingSettings.objects.create(location=location, grace_days=0)
    open_invoice(actor, location, customer, booking)
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)) == 0
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)) == 1


def test_no_lock_when_the_location_turned_the_lockout_off(actor, location, customer, booking):
    BillingSettings.objects.create(location=location, lockout_enabled=False)
    open_invoice(actor, location, customer, booking)
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) == 0


def test_exempt_customers_are_never_locked(actor, location, customer, booking):
    billing.customer_set_lockout_exempt(actor=actor, customer=customer, exempt=True)
    open_invoice(actor, location, customer, booking)
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) == 0


def test_invoices_without_a_booking_lock_nothing(actor, location, customer):
    open_invoice(actor, location, customer)
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) == 0


def _access_revoked(booking) -> bool:
    return BookingAccess.objects.get(booking=booking).revoked_at is not None


def test_payment_in_full_ends_the_lock(actor, location, customer, booking):
    invoice = open_invoice(actor, location, customer, booking)
    billing.invoices_lock_overdue(now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("50.00"), received_on=dt.date(2026, 4, 2)
    )
    assert _access_revoked(booking)
    assert not AuditEntry.objects.filter(action="access.booking_restored").exists()
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("56.98"), received_on=dt.date(2026, 4, 2)
    )
    invoice.refresh_from_db()
    assert invoice.access_locked_at is None and not _access_revoked(booking)
    assert AuditEntry.objects.filter(action="access.booking_restored").count() == 1


def test_access_returns_only_when_every_overdue_invoice_of_the_booking_is_settled(
    actor, location, customer, booking
):
    march = open_invoice(actor, location, customer, booking)
    april = open_invoice(actor, location, customer, booking, due_on=dt.date(2026, 3, 5))
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) == 2
    assert AuditEntry.objects.filter(action="access.booking_revoked").count() == 1
    billing.payment_record(actor=actor, invoice=march, amount=march.total, received_on=dt.date(2026, 5, 2))
    assert _access_revoked(booking)
    billing.invoice_void(actor=actor, invoice=april, reason="credited")
    assert not _access_revoked(booking)
    assert AuditEntry.objects.filter(action="access.booking_restored").count() == 1


def test_making_a_customer_exempt_ends_their_locks(actor, location, customer, booking):
    invoice = open_invoice(actor, location, customer, booking)
    billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    billing.customer_set_lockout_exempt(actor=actor, customer=customer, exempt=True)
    invoice.refresh_from_db()
    assert invoice.access_locked_at is None


def test_the_periodic_task_locks_and_queues_itself_again(actor, location, customer, booking, settings):
    from django_tasks_db.models import DBTaskResult

    from keyport.billing.tasks import lock_overdue_invoices

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.BILLING_OVERDUE_CHECK_MINUTES = 60
    open_invoice(actor, location, customer, booking)
    with time_machine.travel(dt.datetime(2026, 5, 1, tzinfo=dt.UTC), tick=False):
        assert lock_overdue_invoices.call(True) == 1
    assert Invoice.objects.get().access_locked_at is not None
    following = DBTaskResult.objects.get()
    assert following.run_after == dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)


def test_the_command_schedules_the_check_once(settings):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from keyport.billing.tasks import lock_overdue_invoices
    from keyport.lib.periodic import chain_is_scheduled

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert not chain_is_scheduled(lock_overdue_invoices)
    call_command("billing_overdue_check", "--schedule", verbosity=0)
    call_command("billing_overdue_check", "--schedule", verbosity=0)
    assert DBTaskResult.objects.count() == 1
    assert chain_is_scheduled(lock_overdue_invoices)


FREE_MONTH = LineInput(description="First month free", quantity=Decimal("1"), unit_price=Decimal("-106.98"))


def test_an_invoice_with_nothing_to_pay_is_paid_when_issued_and_locks_nothing(
    actor, location, customer, booking
):
    invoice = open_invoice(actor, location, customer, booking, lines=(RENT, FREE_MONTH))
    assert invoice.total == 0
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_at is not None
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) == 0
    assert balances_of_customer(customer) == {}


def test_an_invoice_cannot_total_less_than_nothing(actor, location, customer):
    with pytest.raises(ValidationError) as refused:
        billing.invoice_create(
            actor=actor, location=location, customer=customer, due_on=dt.date(2026, 3, 1), lines=[FREE_MONTH]
        )
    assert "lines" in refused.value.message_dict
    assert not Invoice.objects.exists()

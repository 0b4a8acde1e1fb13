import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from keyport.audit.models import AuditEntry
from keyport.billing import services as billing
from keyport.billing.models import BillingSettings, Invoice, InvoiceStatus
from keyport.billing.pdf import invoice_pdf
from keyport.billing.queries import balances_of_customer, invoices_for_customer
from keyport.billing.services import LineInput
from tests.factories import CustomerFactory, LocationFactory, UnitFactory, booking_of

pytestmark = pytest.mark.django_db

RENT = LineInput(
    description="Unit A001, March", quantity=Decimal("1"), unit_price=Decimal("89.90"), tax_rate=Decimal("19")
)


@pytest.fixture
def location():  # type: ignore[no-untyped-def]
    return LocationFactory(name="Berlin", time_zone="Europe/Berlin")


@pytest.fixture
def customer(location):  # type: ignore[no-untyped-def]
    return CustomerFactory(home_location=location)


@pytest.fixture
def booking(customer, location):  # type: ignore[no-untyped-def]
    return booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))


def open_invoice(actor, location, customer, booking=None, due_on=dt.date(2026, 3, 1), lines=(RENT,)):  # type: ignore[no-untyped-def]
    invoice = billing.invoice_create(
        actor=actor, location=location, customer=customer, booking=booking, due_on=due_on, lines=list(lines)
    )
    return billing.invoice_issue(actor=actor, invoice=invoice, issued_on=dt.date(2026, 2, 1))


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


def test_the_pdf_is_a_pdf_with_the_number(actor, location, customer):
    invoice = open_invoice(actor, location, customer)
    data = invoice_pdf(invoice)
    assert data.startswith(b"%PDF-")
    assert len(data) > 500


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


def test_payment_in_full_ends_the_lock(actor, location, customer, booking, monkeypatch):
    restored = []
    monkeypatch.setattr(
        billing, "booking_access_restore_after_payment", lambda *, actor, booking: restored.append(booking)
    )
    invoice = open_invoice(actor, location, customer, booking)
    billing.invoices_lock_overdue(now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("50.00"), received_on=dt.date(2026, 4, 2)
    )
    assert restored == []
    billing.payment_record(
        actor=actor, invoice=invoice, amount=Decimal("56.98"), received_on=dt.date(2026, 4, 2)
    )
    invoice.refresh_from_db()
    assert invoice.access_locked_at is None and restored == [booking]


def test_access_returns_only_when_every_overdue_invoice_of_the_booking_is_settled(
    actor, location, customer, booking, monkeypatch
):
    revoked, restored = [], []
    monkeypatch.setattr(
        billing, "booking_access_revoke_for_overdue", lambda *, actor, booking: revoked.append(1)
    )
    monkeypatch.setattr(
        billing, "booking_access_restore_after_payment", lambda *, actor, booking: restored.append(1)
    )
    march = open_invoice(actor, location, customer, booking)
    april = open_invoice(actor, location, customer, booking, due_on=dt.date(2026, 3, 5))
    assert billing.invoices_lock_overdue(now=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)) == 2
    assert revoked == [1]
    billing.payment_record(actor=actor, invoice=march, amount=march.total, received_on=dt.date(2026, 5, 2))
    assert restored == []
    billing.invoice_void(actor=actor, invoice=april, reason="credited")
    assert restored == [1]


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

    from keyport.billing.tasks import overdue_check_is_scheduled

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    assert not overdue_check_is_scheduled()
    call_command("billing_overdue_check", "--schedule", verbosity=0)
    call_command("billing_overdue_check", "--schedule", verbosity=0)
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.count() == 1
    assert overdue_check_is_scheduled()

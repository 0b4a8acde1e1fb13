"""Billing's emails: reminders on the due date and after, the lock warning, payment received, and
no lockout unless the tenant was sent the invoice and the lock warning."""

import datetime as dt
from decimal import Decimal

import pytest

from keyport.access.services import grants_sync_for_booking
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import BillingSettings, InvoiceEmail, InvoiceEmailKind
from keyport.emails.models import EmailStatus, OutgoingEmail
from tests.factories import ContactFactory, CustomerFactory, LocationFactory, UnitFactory, booking_of

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
D = dt.date


def berlin_at(day: dt.date, hour: int = 9) -> dt.datetime:
    """That local day in Berlin (winter time), at that hour."""
    return dt.datetime(day.year, day.month, day.day, hour - 1, tzinfo=dt.UTC)


@pytest.fixture
def booking():
    location = LocationFactory(name="Berlin", time_zone="Europe/Berlin")
    # Due 2 March, 14 grace days: locked from 17 March; warned 3 days before, on the 14th.
    BillingSettings.objects.create(
        location=location, grace_days=14, lock_warning_days=3, reminder_days_after=7
    )
    customer = CustomerFactory(home_location=location)
    ContactFactory(customer=customer, email="tenant@example.com")
    booking = booking_of(customer, [UnitFactory(location=location)], D(2026, 1, 1))
    grants_sync_for_booking(actor=SYSTEM, booking=booking)
    return booking


@pytest.fixture
def invoice(booking, django_capture_on_commit_callbacks):
    created = billing.invoice_create(
        actor=SYSTEM,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=D(2026, 3, 2),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("80"))],
    )
    with django_capture_on_commit_callbacks(execute=True):
        return billing.invoice_issue(actor=SYSTEM, invoice=created)


def kinds(invoice):
    return sorted(InvoiceEmail.objects.filter(invoice=invoice).values_list("kind", flat=True))


def remind(day, callbacks):
    with callbacks(execute=True):
        return billing.invoices_remind(now=berlin_at(day))


def test_issuing_sends_the_invoice_email(invoice, mailoutbox):
    assert kinds(invoice) == [InvoiceEmailKind.INVOICE]
    assert mailoutbox[0].attachments[0][0] == f"{invoice.number}.pdf"
    assert OutgoingEmail.objects.get().status == EmailStatus.SENT


def test_a_reminder_on_the_due_date_and_another_days_later_each_once(
    invoice, mailoutbox, django_capture_on_commit_callbacks
):
    assert remind(D(2026, 3, 1), django_capture_on_commit_callbacks) == 0
    assert remind(D(2026, 3, 2), django_capture_on_commit_callbacks) == 1
    assert remind(D(2026, 3, 2), django_capture_on_commit_callbacks) == 0
    assert remind(D(2026, 3, 8), django_capture_on_commit_callbacks) == 0
    assert remind(D(2026, 3, 9), django_capture_on_commit_callbacks) == 1
    assert kinds(invoice) == [
        InvoiceEmailKind.INVOICE,
        InvoiceEmailKind.REMINDER_DUE,
        InvoiceEmailKind.REMINDER_LATE,
    ]
    assert [m.subject for m in mailoutbox[1:]] == [f"Reminder: invoice {invoice.number} is due"] * 2
    assert OutgoingEmail.objects.filter(template="payment_reminder").count() == 2


def test_the_lock_warning_goes_a_set_number_of_days_before_the_grace_days_end(
    invoice, mailoutbox, django_capture_on_commit_callbacks
):
    remind(D(2026, 3, 13), django_capture_on_commit_callbacks)
    assert InvoiceEmailKind.LOCK_WARNING not in kinds(invoice)
    remind(D(2026, 3, 14), django_capture_on_commit_callbacks)
    assert InvoiceEmailKind.LOCK_WARNING in kinds(invoice)
    warning = OutgoingEmail.objects.get(template="access_lock_warning")
    assert "Tue 17 Mar 2026" in warning.subject
    remind(D(2026, 3, 15), django_capture_on_commit_callbacks)
    assert OutgoingEmail.objects.filter(template="access_lock_warning").count() == 1


def test_no_lock_warning_where_the_lockout_could_not_lock(
    invoice, booking, django_capture_on_commit_callbacks
):
    billing.customer_set_lockout_exempt(actor=SYSTEM, customer=booking.customer, exempt=True)
    remind(D(2026, 3, 20), django_capture_on_commit_callbacks)
    assert InvoiceEmailKind.LOCK_WARNING not in kinds(invoice)


def test_no_lockout_without_the_lock_warning_sent(invoice):
    assert billing.invoices_lock_overdue(now=berlin_at(D(2026, 3, 20))) == 0
    invoice.refresh_from_db()
    assert invoice.access_locked_at is None and not invoice.booking.access_is_revoked()


def test_no_lockout_while_the_lock_warning_is_only_queued(invoice):
    billing.invoice_remind(
        invoice=invoice, rule=BillingSettings.objects.get(), today=D(2026, 3, 14)
    )  # queued, never delivered: the on-commit delivery does not run here
    assert InvoiceEmail.objects.filter(invoice=invoice, kind=InvoiceEmailKind.LOCK_WARNING).exists()
    assert billing.invoices_lock_overdue(now=berlin_at(D(2026, 3, 20))) == 0
    assert not invoice.booking.access_is_revoked()


def test_no_lockout_without_the_invoice_sent(invoice, django_capture_on_commit_callbacks):
    InvoiceEmail.objects.filter(invoice=invoice, kind=InvoiceEmailKind.INVOICE).delete()
    remind(D(2026, 3, 14), django_capture_on_commit_callbacks)
    assert billing.invoices_lock_overdue(now=berlin_at(D(2026, 3, 20))) == 0
    assert not invoice.booking.access_is_revoked()


def test_the_lockout_locks_once_both_emails_were_delivered(invoice, django_capture_on_commit_callbacks):
    remind(D(2026, 3, 14), django_capture_on_commit_callbacks)
    assert billing.invoices_lock_overdue(now=berlin_at(D(2026, 3, 16))) == 0  # within the grace days
    with django_capture_on_commit_callbacks(execute=True):
        assert billing.invoices_lock_overdue(now=berlin_at(D(2026, 3, 17))) == 1
    assert invoice.booking.access_is_revoked()


def test_a_payment_sends_payment_received(invoice, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        billing.payment_record(
            actor=SYSTEM, invoice=invoice, amount=Decimal("30.00"), received_on=D(2026, 3, 3)
        )
    with django_capture_on_commit_callbacks(execute=True):
        billing.payment_record(
            actor=SYSTEM, invoice=invoice, amount=Decimal("50.00"), received_on=D(2026, 3, 4)
        )
    received = [m.body for m in mailoutbox if m.subject.startswith("Payment received")]
    assert len(received) == 2
    assert "50.00 EUR is still open" in received[0] and "paid in full" in received[1]
    assert kinds(invoice).count(InvoiceEmailKind.PAYMENT_RECEIVED) == 2
    assert OutgoingEmail.objects.filter(template="payment_received").count() == 2
    assert remind(D(2026, 3, 9), django_capture_on_commit_callbacks) == 0  # paid: no reminders


def test_the_invoice_page_lists_its_emails(invoice, booking, staff_client):
    from django.urls import reverse

    from keyport.staff.models import Role

    page = staff_client(Role.MANAGER, booking.location).get(
        reverse("dashboard:invoice_detail", args=[invoice.pk])
    )
    emails = page.content.decode().split('id="invoice-emails"')[1].split("</ul>")[0]
    assert "Invoice · tenant@example.com" in emails and "Delivered" in emails
    assert "Access will be locked" not in emails

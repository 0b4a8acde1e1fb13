"""Rent invoices from bookings: the first at Move in, the billing run, numbering, VAT, move-outs."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.billing.models import BillingSettings, Invoice, InvoiceEmailKind, InvoiceStatus
from keyport.billing.periods import BillingAnchor
from keyport.billing.rent import (
    billing_run_location,
    booking_billing_end,
    booking_invoice_first,
    locations_due_for_billing,
)
from keyport.billing.tasks import until_next_local_midnight
from keyport.bookings.models import BookingUnit
from keyport.emails.models import OutgoingEmail
from keyport.frontdesk.services.moves import booking_move_out, booking_move_out_cancel
from keyport.frontdesk.services.rentals import MoveIn, booking_move_in
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)
from tests.test_billing import pdf_text

pytestmark = pytest.mark.django_db
D = dt.date
SYSTEM = Actor.system("tests")


@pytest.fixture
def berlin():
    location = LocationFactory(name="Berlin", time_zone="Europe/Berlin")
    BillingSettings.objects.create(location=location, invoice_prefix="BER", vat_rate=Decimal("19"))
    return location


@pytest.fixture
def tenant(berlin):
    customer = CustomerFactory(name="Mara Schneider", home_location=berlin)
    ContactFactory(customer=customer, email="mara@example.com")
    return customer


def rented(customer, location, starts_on, ends_on=None, rents=("100.00",)):
    units = [UnitFactory(location=location) for _ in rents]
    booking = booking_of(customer, units, starts_on, ends_on)
    for row, rent in zip(booking.booking_units.order_by("unit__number"), rents, strict=True):
        row.monthly_rent = Decimal(rent)
        row.save()
    return booking


def periods_billed(booking):
    return list(
        Invoice.objects.filter(booking=booking, period_starts_on__isnull=False)
        .order_by("period_starts_on")
        .values_list("period_starts_on", "period_ends_on", "subtotal")
    )


def test_move_in_issues_the_first_invoice_for_the_first_period(
    berlin, tenant, django_capture_on_commit_callbacks
):
    owner = StaffUserFactory(role="owner")
    unit = UnitFactory(location=berlin, number="A010")
    with (
        time_machine.travel(dt.datetime(2026, 3, 15, 9, tzinfo=dt.UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking = booking_move_in(
            staff=owner,
            customer=tenant,
            move_in=MoveIn(
                location=berlin,
                units=[unit],
                starts_on=D(2026, 3, 15),
                monthly_rents={unit.pk: Decimal("80.00")},
            ),
        )
    invoice = Invoice.objects.get(booking=booking)
    assert (invoice.number, invoice.status, invoice.issued_on, invoice.due_on) == (
        "BER-00001",
        InvoiceStatus.OPEN,
        D(2026, 3, 15),
        D(2026, 3, 15),
    )
    assert (invoice.period_starts_on, invoice.period_ends_on) == (D(2026, 3, 15), D(2026, 4, 14))
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("80.00"),
        Decimal("15.20"),
        Decimal("95.20"),
    )
    line = invoice.lines.get()
    assert line.tax_rate == Decimal("19") and line.description.startswith("Storage unit A010 rent")
    assert invoice.emails.filter(kind=InvoiceEmailKind.INVOICE, email__to="mara@example.com").exists()


def test_a_later_move_in_is_billed_at_move_in_for_its_first_period(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 5, 1))
    with time_machine.travel(dt.datetime(2026, 3, 15, 9, tzinfo=dt.UTC), tick=False):
        invoice = booking_invoice_first(booking=booking)
        assert booking_invoice_first(booking=booking) is None
    assert (invoice.issued_on, invoice.due_on, invoice.period_starts_on) == (
        D(2026, 3, 15),
        D(2026, 5, 1),
        D(2026, 5, 1),
    )


def test_the_run_issues_the_next_period_a_set_number_of_days_before_it_starts(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 3, 15))
    with time_machine.travel(dt.datetime(2026, 3, 15, 9, tzinfo=dt.UTC), tick=False):
        booking_invoice_first(booking=booking)
    assert billing_run_location(location=berlin, today=D(2026, 4, 7)) == 0
    assert billing_run_location(location=berlin, today=D(2026, 4, 8)) == 1
    assert billing_run_location(location=berlin, today=D(2026, 4, 8)) == 0
    assert billing_run_location(location=berlin, today=D(2026, 4, 9)) == 0
    assert periods_billed(booking) == [
        (D(2026, 3, 15), D(2026, 4, 14), Decimal("100.00")),
        (D(2026, 4, 15), D(2026, 5, 14), Decimal("100.00")),
    ]
    second = Invoice.objects.get(period_starts_on=D(2026, 4, 15))
    assert (second.number, second.issued_on, second.due_on) == ("BER-00002", D(2026, 4, 8), D(2026, 4, 15))


def test_the_days_before_are_a_setting_of_the_location(berlin, tenant):
    BillingSettings.objects.filter(location=berlin).update(issue_days_before=14)
    booking = rented(tenant, berlin, D(2026, 3, 15))
    assert billing_run_location(location=berlin, today=D(2026, 3, 1)) == 1
    assert billing_run_location(location=berlin, today=D(2026, 4, 1)) == 1
    assert [start for start, _, _ in periods_billed(booking)] == [D(2026, 3, 15), D(2026, 4, 15)]


def test_first_of_month_billing_prorates_the_first_month_per_unit(berlin, tenant):
    BillingSettings.objects.filter(location=berlin).update(billing_anchor=BillingAnchor.FIRST_OF_MONTH)
    booking = rented(tenant, berlin, D(2026, 2, 15), rents=("90.00", "56.00"))
    assert billing_run_location(location=berlin, today=D(2026, 2, 15)) == 1
    invoice = Invoice.objects.get(booking=booking)
    assert (invoice.period_starts_on, invoice.period_ends_on) == (D(2026, 2, 15), D(2026, 2, 28))
    assert [line.net_amount for line in invoice.lines.all()] == [Decimal("45.00"), Decimal("28.00")]
    assert "(14 of 28 days)" in invoice.lines.first().description
    assert (invoice.tax_total, invoice.total) == (Decimal("13.87"), Decimal("86.87"))
    assert billing_run_location(location=berlin, today=D(2026, 2, 22)) == 1
    assert periods_billed(booking)[1] == (D(2026, 3, 1), D(2026, 3, 31), Decimal("146.00"))


def test_numbers_follow_on_without_gaps_across_the_run_and_manual_invoices(berlin, tenant):
    for start in (D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3)):
        rented(tenant, berlin, start)
    manual = billing.invoice_create(
        actor=SYSTEM,
        location=berlin,
        customer=tenant,
        due_on=D(2026, 3, 1),
        lines=[billing.LineInput(description="Lock", quantity=Decimal("1"), unit_price=Decimal("12"))],
    )
    billing.invoice_issue(actor=SYSTEM, invoice=manual)
    assert billing_run_location(location=berlin, today=D(2026, 3, 1), batch_size=2) == 3
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == ["BER-00001", "BER-00002", "BER-00003", "BER-00004"]
    assert BillingSettings.objects.get(location=berlin).next_invoice_number == 5


def test_a_booking_caught_up_is_billed_for_every_period_due(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 1, 10))
    assert billing_run_location(location=berlin, today=D(2026, 3, 5)) == 3
    assert [start for start, _, _ in periods_billed(booking)] == [
        D(2026, 1, 10),
        D(2026, 2, 10),
        D(2026, 3, 10),
    ]


def test_a_move_out_ends_billing_with_the_final_period_prorated(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 3, 1), rents=("31.00",))
    billing_run_location(location=berlin, today=D(2026, 3, 1))
    billing_run_location(location=berlin, today=D(2026, 3, 25))
    assert len(periods_billed(booking)) == 2
    with time_machine.travel(dt.datetime(2026, 3, 26, 9, tzinfo=dt.UTC), tick=False):
        booking_move_out(actor=SYSTEM, booking=booking, on=D(2026, 4, 10))
    assert periods_billed(booking) == [
        (D(2026, 3, 1), D(2026, 3, 31), Decimal("31.00")),
        (D(2026, 4, 1), D(2026, 4, 10), Decimal("10.33")),
    ]
    voided = Invoice.objects.get(booking=booking, status=InvoiceStatus.VOID)
    assert voided.period_starts_on is None and "Moved out" in voided.void_reason
    assert billing_run_location(location=berlin, today=D(2026, 4, 25)) == 0
    assert billing_run_location(location=berlin, today=D(2026, 5, 25)) == 0


def test_a_move_out_called_off_bills_the_last_period_whole_again(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 3, 1), rents=("31.00",))
    billing_run_location(location=berlin, today=D(2026, 3, 1))
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), tick=False):
        booking_move_out(actor=SYSTEM, booking=booking, on=D(2026, 3, 20))
        assert periods_billed(booking) == [(D(2026, 3, 1), D(2026, 3, 20), Decimal("20.00"))]
        booking_move_out_cancel(actor=SYSTEM, booking=booking)
    assert periods_billed(booking) == [(D(2026, 3, 1), D(2026, 3, 31), Decimal("31.00"))]
    assert Invoice.objects.filter(booking=booking, status=InvoiceStatus.VOID).count() == 2
    assert billing_run_location(location=berlin, today=D(2026, 3, 25)) == 1


def test_a_move_out_leaves_a_paid_invoice_as_it_is(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 3, 1), ends_on=D(2026, 6, 30), rents=("31.00",))
    billing_run_location(location=berlin, today=D(2026, 3, 1))
    invoice = Invoice.objects.get(booking=booking)
    billing.payment_record(actor=SYSTEM, invoice=invoice, amount=invoice.total, received_on=D(2026, 3, 2))
    BookingUnit.objects.filter(booking=booking).update(ends_on=D(2026, 3, 20))
    booking.ends_on = D(2026, 3, 20)
    booking.save()
    assert booking_billing_end(actor=SYSTEM, booking=booking) == []
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.period_ends_on == D(2026, 3, 31)


def test_cancelled_and_ended_bookings_are_not_billed_again(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 3, 1), ends_on=D(2026, 3, 31))
    assert billing_run_location(location=berlin, today=D(2026, 3, 1)) == 1
    assert billing_run_location(location=berlin, today=D(2026, 4, 1)) == 0
    assert len(periods_billed(booking)) == 1


def test_the_run_waits_for_each_locations_own_midnight_across_the_daylight_saving_change(berlin):
    austin = LocationFactory(name="Austin", time_zone="America/Chicago")
    BillingSettings.objects.filter(location=berlin).update(last_run_on=D(2026, 3, 28))
    BillingSettings.objects.create(location=austin, last_run_on=D(2026, 3, 28))
    # Berlin springs forward on 29 March: its midnight is still 23:00 UTC the evening before.
    assert locations_due_for_billing(now=dt.datetime(2026, 3, 28, 22, 59, tzinfo=dt.UTC)) == []
    assert locations_due_for_billing(now=dt.datetime(2026, 3, 28, 23, 0, tzinfo=dt.UTC)) == [berlin]
    # Chicago (on summer time since 8 March) reaches 29 March at 05:00 UTC.
    assert locations_due_for_billing(now=dt.datetime(2026, 3, 29, 5, 0, tzinfo=dt.UTC)) == [berlin, austin]
    assert until_next_local_midnight(dt.datetime(2026, 3, 28, 22, 30, tzinfo=dt.UTC)) == dt.timedelta(
        minutes=30
    )
    # Falling back on 25 October: Berlin's midnight before it is 22:00 UTC (summer time).
    assert until_next_local_midnight(dt.datetime(2026, 10, 24, 21, 30, tzinfo=dt.UTC)) == dt.timedelta(
        minutes=30
    )
    assert until_next_local_midnight(dt.datetime(2026, 10, 25, 22, 30, tzinfo=dt.UTC)) == dt.timedelta(
        minutes=30
    )


def test_the_run_bills_on_the_locations_day_across_the_daylight_saving_change(berlin, tenant):
    booking = rented(tenant, berlin, D(2026, 4, 5))
    # 00:30 on 29 March in Berlin (the night the clocks go forward) is 23:30 UTC on the 28th.
    with time_machine.travel(dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), tick=False):
        assert billing_run_location(location=berlin) == 1
    assert Invoice.objects.get(booking=booking).issued_on == D(2026, 3, 29)
    assert BillingSettings.objects.get(location=berlin).last_run_on == D(2026, 3, 29)


def test_the_runs_invoices_are_emailed_with_the_pdf_and_a_pay_link(
    berlin, tenant, mailoutbox, django_capture_on_commit_callbacks
):
    booking = rented(tenant, berlin, D(2026, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        billing_run_location(location=berlin, today=D(2026, 3, 1))
    invoice = Invoice.objects.get(booking=booking)
    (message,) = mailoutbox
    assert message.to == ["mara@example.com"] and "BER-00001" in message.subject
    assert f"/portal/billing/invoices/{invoice.pk}/" in message.body
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("BER-00001.pdf", "application/pdf") and content.startswith(b"%PDF-")
    assert OutgoingEmail.objects.get().template == "invoice"
    text = pdf_text(content)
    for shown in ("Invoice BER-00001", "VAT %", "VAT 19.00 %", "19.00 EUR", "Period"):
        assert shown in text, shown
    with django_capture_on_commit_callbacks(execute=True):
        billing_run_location(location=berlin, today=D(2026, 3, 1))
    assert len(mailoutbox) == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_billing_at_once_issue_each_period_once_and_number_without_gaps(berlin, tenant):
    bookings = [rented(tenant, berlin, D(2026, 3, 1) + dt.timedelta(days=n)) for n in range(30)]
    start = threading.Barrier(2)
    issued: list[int] = []

    def worker() -> None:
        try:
            start.wait(timeout=10)
            issued.append(billing_run_location(location=berlin, today=D(2026, 3, 25), batch_size=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each booking's first period, and the second of the booking from 1 March (starts 1 April).
    assert sum(issued) == 31
    billed = list(Invoice.objects.values_list("booking_id", "period_starts_on"))
    assert len(billed) == len(set(billed)) == 31
    assert {booking_id for booking_id, _ in billed} == {b.pk for b in bookings}
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"BER-{n:05d}" for n in range(1, 32)]


def test_the_billing_chain_queues_each_location_due_and_wakes_at_the_next_midnight(berlin, settings):
    from django_tasks_db.models import DBTaskResult

    from keyport.billing.tasks import billing_run

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.BILLING_RUN_ENABLED = True
    BillingSettings.objects.filter(location=berlin).update(last_run_on=D(2026, 3, 28))
    with time_machine.travel(dt.datetime(2026, 3, 28, 23, 30, tzinfo=dt.UTC), tick=False):
        assert billing_run.call(True) == 1
    queued = {result.task_path: result for result in DBTaskResult.objects.all()}
    assert set(queued) == {
        "keyport.billing.tasks.billing_run",
        "keyport.billing.tasks.billing_run_for_location",
    }
    assert queued["keyport.billing.tasks.billing_run_for_location"].args_kwargs["args"] == [berlin.pk]
    # Berlin's next midnight is 22:00 UTC on the 29th, further off than the hour the chain looks again in.
    assert queued["keyport.billing.tasks.billing_run"].run_after == dt.datetime(
        2026, 3, 29, 0, 30, tzinfo=dt.UTC
    )

"""The overdue lockout through the access engine: grants and shares revoked, emails, restored on payment."""

import datetime as dt
from decimal import Decimal

import pytest

from keyport.access.models import AccessGrant, BookingAccess, GrantState
from keyport.access.services import booking_revoke_access, grants_sync_for_booking
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.emails.models import OutgoingEmail
from tests.factories import ContactFactory, CustomerFactory, LocationFactory, UnitFactory, booking_of

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
OVERDUE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def booking():  # type: ignore[no-untyped-def]
    location = LocationFactory()
    customer = CustomerFactory(home_location=location)
    ContactFactory(customer=customer, email="tenant@example.com")
    booking = booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))
    grants_sync_for_booking(actor=SYSTEM, booking=booking)
    return booking


def overdue_invoice(booking):  # type: ignore[no-untyped-def]
    invoice = billing.invoice_create(
        actor=SYSTEM,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=dt.date(2026, 3, 1),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("80"))],
    )
    return billing.invoice_issue(actor=SYSTEM, invoice=invoice)


def grant_states(booking):  # type: ignore[no-untyped-def]
    return set(AccessGrant.objects.filter(booking=booking).values_list("state", flat=True))


def test_overdue_revokes_the_bookings_access_and_payment_restores_it(
    booking, django_capture_on_commit_callbacks
):
    assert grant_states(booking) == {GrantState.ACTIVE}
    invoice = overdue_invoice(booking)
    with django_capture_on_commit_callbacks(execute=True):
        assert billing.invoices_lock_overdue(now=OVERDUE) == 1
    assert grant_states(booking) == {GrantState.REVOKED}
    assert BookingAccess.objects.get(booking=booking).revoked_reason == "overdue"
    assert OutgoingEmail.objects.filter(to="tenant@example.com").exists()
    billing.payment_record(
        actor=SYSTEM, invoice=invoice, amount=Decimal("80.00"), received_on=dt.date(2026, 5, 2)
    )
    assert not BookingAccess.objects.get(booking=booking).is_revoked
    assert GrantState.ACTIVE in grant_states(booking)


def test_exempt_customers_keep_their_access(booking):
    billing.customer_set_lockout_exempt(actor=SYSTEM, customer=booking.customer, exempt=True)
    overdue_invoice(booking)
    billing.invoices_lock_overdue(now=OVERDUE)
    assert grant_states(booking) == {GrantState.ACTIVE}


def test_payment_does_not_undo_a_revocation_staff_made_for_another_reason(booking):
    invoice = overdue_invoice(booking)
    booking_revoke_access(actor=SYSTEM, booking=booking, reason="keys lost")
    billing.invoices_lock_overdue(now=OVERDUE)
    billing.payment_record(
        actor=SYSTEM, invoice=invoice, amount=Decimal("80.00"), received_on=dt.date(2026, 5, 2)
    )
    state = BookingAccess.objects.get(booking=booking)
    assert state.is_revoked and state.revoked_reason == "keys lost"

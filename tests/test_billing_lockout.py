"""The overdue lockout through the access engine: grants and shares revoked, emails, restored on payment."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from keyport.access.emails import ACCESS_RESTORED, ACCESS_REVOKED
from keyport.access.models import (
    AccessEvent,
    AccessGrant,
    AccessHolder,
    BookingAccess,
    GrantState,
    RevocationOrigin,
    ShareState,
)
from keyport.access.services import access_decide, booking_revoke_access, grants_sync_for_booking
from keyport.access.services.doors import Door
from keyport.audit.services import Actor
from keyport.billing import services as billing
from keyport.emails.models import OutgoingEmail
from tests import cast
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    UnitFactory,
    booking_of,
    told_before_lockout,
)

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("tests")
OVERDUE = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


@pytest.fixture
def booking():
    location = LocationFactory()
    customer = CustomerFactory(home_location=location)
    ContactFactory(customer=customer, email="tenant@example.com")
    booking = booking_of(customer, [UnitFactory(location=location)], dt.date(2026, 1, 1))
    grants_sync_for_booking(actor=SYSTEM, booking=booking)
    return booking


def overdue_invoice(booking):
    invoice = billing.invoice_create(
        actor=SYSTEM,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=dt.date(2026, 3, 1),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("80"))],
    )
    return told_before_lockout(billing.invoice_issue(actor=SYSTEM, invoice=invoice))


def grant_states(booking):
    return set(AccessGrant.objects.filter(booking=booking).values_list("state", flat=True))


def test_overdue_revokes_the_bookings_access_and_payment_restores_it(
    booking, django_capture_on_commit_callbacks
):
    assert grant_states(booking) == {GrantState.ACTIVE}
    invoice = overdue_invoice(booking)
    with django_capture_on_commit_callbacks(execute=True):
        assert billing.invoices_lock_overdue(now=OVERDUE) == 1
    assert grant_states(booking) == {GrantState.REVOKED}
    state = BookingAccess.objects.get(booking=booking)
    assert (state.revoked_reason, state.revoked_origin) == ("overdue", RevocationOrigin.OVERDUE)
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


def test_staff_revoking_in_the_words_of_the_lockout_is_not_undone_by_a_payment(booking):
    # The lockout is told by its origin, not its reason: staff may well write "overdue" themselves.
    invoice = overdue_invoice(booking)
    booking_revoke_access(actor=SYSTEM, booking=booking, reason="overdue")
    billing.invoices_lock_overdue(now=OVERDUE)
    billing.payment_record(
        actor=SYSTEM, invoice=invoice, amount=Decimal("80.00"), received_on=dt.date(2026, 5, 2)
    )
    state = BookingAccess.objects.get(booking=booking)
    assert state.is_revoked and state.revoked_origin == RevocationOrigin.OPERATOR
    assert grant_states(booking) == {GrantState.REVOKED}


def at(day: dt.date) -> dt.datetime:
    """Noon UTC of a day: inside that day in Berlin as well."""
    return dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=dt.UTC)


def recipients(key: str) -> set[str]:
    return set(OutgoingEmail.objects.filter(template=key).values_list("to", flat=True))


def guest_pin(site, email: str) -> str:
    return AccessHolder.objects.get(location=site.location, email=email).pin


def test_overdue_revokes_the_guests_shares_and_payment_restores_those_still_current(
    django_capture_on_commit_callbacks, site, tenant
):
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 1, 1))
    with time_machine.travel(at(dt.date(2026, 4, 20)), tick=False):
        lasting = cast.share(booking, "friend@example.com", dt.date(2026, 4, 20), dt.date(2026, 6, 30))
        brief = cast.share(booking, "brief@example.com", dt.date(2026, 4, 20), dt.date(2026, 5, 3))
        invoice = overdue_invoice(booking)
    door = site.door
    friend_pin = guest_pin(site, "friend@example.com")
    assert access_decide(
        door=Door.of(door), pin=friend_pin, channel=AccessEvent.Channel.DEVICE, when=at(dt.date(2026, 4, 30))
    ).allowed

    with (
        time_machine.travel(at(dt.date(2026, 5, 1)), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert billing.invoices_lock_overdue(now=at(dt.date(2026, 5, 1))) == 1
    for share in (lasting, brief):
        share.refresh_from_db()
        assert share.state == ShareState.REVOKED and share.revoked_with_booking
        assert set(share.grants.values_list("state", "revoked_reason")) == {(GrantState.REVOKED, "overdue")}
    denied = access_decide(
        door=Door.of(door), pin=friend_pin, channel=AccessEvent.Channel.DEVICE, when=at(dt.date(2026, 5, 2))
    )
    assert (denied.allowed, denied.reason) == (False, "revoked")
    assert recipients(ACCESS_REVOKED) == {tenant.email, "friend@example.com", "brief@example.com"}
    told_tenant = OutgoingEmail.objects.get(template=ACCESS_REVOKED, to=tenant.email)
    assert "Reason: overdue" in told_tenant.body_text
    told_guest = OutgoingEmail.objects.get(template=ACCESS_REVOKED, to="friend@example.com")
    assert "overdue" not in told_guest.body_text  # a guest is not told the tenant has not paid
    assert recipients(ACCESS_RESTORED) == set()

    with (
        time_machine.travel(at(dt.date(2026, 5, 5)), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        billing.payment_record(
            actor=SYSTEM, invoice=invoice, amount=invoice.total, received_on=dt.date(2026, 5, 5)
        )
    lasting.refresh_from_db()
    brief.refresh_from_db()
    assert lasting.state == ShareState.ACTIVE
    assert set(lasting.grants.values_list("state", flat=True)) == {GrantState.ACTIVE}
    assert brief.state == ShareState.REVOKED  # its window ended while access was locked
    opened = access_decide(
        door=Door.of(door), pin=friend_pin, channel=AccessEvent.Channel.DEVICE, when=at(dt.date(2026, 5, 6))
    )
    assert (opened.allowed, opened.reason) == (True, "ok")
    tenant_pin = site.holder(tenant).pin
    assert access_decide(
        door=Door.of(door), pin=tenant_pin, channel=AccessEvent.Channel.DEVICE, when=at(dt.date(2026, 5, 6))
    ).allowed
    assert recipients(ACCESS_RESTORED) == {tenant.email, "friend@example.com"}


def test_an_overdue_invoice_still_locks_once_staff_give_back_access_they_revoked_for_another_reason(
    booking,
):
    from keyport.access.services import booking_restore_access

    invoice = overdue_invoice(booking)
    booking_revoke_access(actor=SYSTEM, booking=booking, reason="keys lost")
    billing.invoices_lock_overdue(now=OVERDUE)
    booking_restore_access(actor=SYSTEM, booking=booking)  # the keys were found; the rent is still unpaid
    assert GrantState.ACTIVE in grant_states(booking)

    assert billing.invoices_lock_overdue(now=OVERDUE + dt.timedelta(hours=1)) == 1
    state = BookingAccess.objects.get(booking=booking)
    assert state.is_revoked and state.revoked_reason == "overdue"
    assert GrantState.ACTIVE not in grant_states(booking)
    billing.payment_record(
        actor=SYSTEM, invoice=invoice, amount=invoice.total, received_on=dt.date(2026, 5, 2)
    )
    assert not BookingAccess.objects.get(booking=booking).is_revoked
    assert GrantState.ACTIVE in grant_states(booking)


def test_a_later_overdue_invoice_locks_again_after_staff_gave_back_access_the_lockout_took(booking):
    from keyport.access.services import booking_restore_access

    overdue_invoice(booking)
    assert billing.invoices_lock_overdue(now=OVERDUE) == 1
    booking_restore_access(actor=SYSTEM, booking=booking)  # staff let them in on a promise to pay
    assert not BookingAccess.objects.get(booking=booking).is_revoked

    later = billing.invoice_create(
        actor=SYSTEM,
        location=booking.location,
        customer=booking.customer,
        booking=booking,
        due_on=dt.date(2026, 4, 1),
        lines=[billing.LineInput(description="Rent", quantity=Decimal("1"), unit_price=Decimal("80"))],
    )
    told_before_lockout(billing.invoice_issue(actor=SYSTEM, invoice=later))
    assert billing.invoices_lock_overdue(now=OVERDUE + dt.timedelta(days=30)) == 1
    state = BookingAccess.objects.get(booking=booking)
    assert state.is_revoked and state.revoked_reason == "overdue"
    assert GrantState.ACTIVE not in grant_states(booking)


def test_the_upgrade_tells_the_lockouts_of_the_past_by_their_reason(booking):
    from importlib import import_module

    from django.apps import apps

    from keyport.bookings.models import Booking

    other = Booking.objects.create(
        location=booking.location, customer=booking.customer, starts_on=booking.starts_on
    )
    restored = Booking.objects.create(
        location=booking.location, customer=booking.customer, starts_on=booking.starts_on
    )
    BookingAccess.objects.create(booking=booking, revoked_at=OVERDUE, revoked_reason="overdue")
    BookingAccess.objects.create(booking=other, revoked_at=OVERDUE, revoked_reason="keys lost")
    BookingAccess.objects.create(booking=restored, revoked_at=None, revoked_reason="")
    migration = import_module("keyport.access.migrations.0011_revocation_origin")

    migration.origins_from_reasons(apps, None)

    origins = dict(BookingAccess.objects.values_list("booking_id", "revoked_origin"))
    assert origins == {booking.pk: "overdue", other.pk: "operator", restored.pk: ""}

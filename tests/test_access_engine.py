import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from keyport.access.models import AccessGrant, AccessHolder, GrantOrigin, GrantState, SharedAccess, ShareState
from keyport.access.queries import events_for_customer
from keyport.access.services import (
    ShareRequest,
    access_decide,
    booking_restore_access,
    booking_revoke_access,
    grants_end_due,
    grants_sync_for_customer,
    share_create,
    share_delete,
)
from keyport.access.services.doors import Door
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.contacts.services import ContactDetails
from keyport.facilities.models import UnitAccessPoint
from keyport.frontdesk.services import (
    booking_cancel,
    booking_create,
    booking_set_end_date,
    contact_add,
    contact_update,
    customer_set_active,
)
from keyport.lib.email_addresses import email_addresses_parse
from tests import cast
from tests.factories import ContactFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
UTC = dt.UTC


def decide(site, pin, when, access_point=None):
    return access_decide(door=Door.of(access_point or site.door), pin=pin, channel="device", when=when)


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_booking_grants_its_portal_contacts_its_units_for_its_dates(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
    no_portal = ContactFactory(customer=tenant.customer, is_primary=False, can_access_portal=False)
    grants = AccessGrant.objects.filter(booking=booking)
    assert grants.count() == 3
    assert {g.holder.contact for g in grants} == {tenant}
    assert not AccessHolder.objects.filter(contact=no_portal).exists()
    grant = grants.first()
    assert grant.starts_at == dt.datetime(2026, 2, 28, 23, tzinfo=UTC)  # local midnight, Berlin
    assert grant.ends_at == dt.datetime(2026, 3, 31, 22, tzinfo=UTC)  # 1 April 00:00 CEST
    holder = site.holder(tenant)
    assert len(holder.pin) == 6 and holder.pin.isdigit()
    assert decide(site, holder.pin, dt.datetime(2026, 3, 2, 9, tzinfo=UTC)).reason == "ok"


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_customer_sync_follows_portal_access(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    partner = ContactFactory(customer=tenant.customer, is_primary=False)
    grants_sync_for_customer(actor=ACTOR, customer=tenant.customer)
    assert AccessGrant.objects.filter(holder__contact=partner, state=GrantState.ACTIVE).count() == 3
    partner.can_access_portal = False
    partner.save()
    grants_sync_for_customer(actor=ACTOR, customer=tenant.customer)
    assert AccessGrant.objects.filter(holder__contact=partner, state=GrantState.ACTIVE).count() == 0
    customer = tenant.customer
    customer.is_active = False
    customer.save()
    grants_sync_for_customer(actor=ACTOR, customer=customer)
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()


def _details(contact, **changes):
    fields = {
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email or "",
        "phone": contact.phone,
        "can_access_portal": contact.can_access_portal,
    }
    return ContactDetails(**{**fields, **changes})


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_staff_changes_to_contacts_reach_the_doors(site, tenant) -> None:
    cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    now = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
    partner = contact_add(
        actor=ACTOR,
        customer=tenant.customer,
        details=ContactDetails(first_name="Pat", email="pat@example.com", can_access_portal=True),
    )
    pin = AccessHolder.objects.get(contact=partner).pin
    assert decide(site, pin, now).reason == "ok"

    contact_update(actor=ACTOR, contact=partner, details=_details(partner, can_access_portal=False))
    assert decide(site, pin, now).allowed is False
    assert not AccessGrant.objects.filter(holder__contact=partner, state=GrantState.ACTIVE).exists()

    contact_update(actor=ACTOR, contact=partner, details=_details(partner, can_access_portal=True))
    assert decide(site, pin, now).reason == "ok"

    customer_set_active(actor=ACTOR, customer=tenant.customer, is_active=False)
    assert decide(site, pin, now).allowed is False
    assert decide(site, site.holder(tenant).pin, now).allowed is False
    customer_set_active(actor=ACTOR, customer=tenant.customer, is_active=True)
    assert decide(site, site.holder(tenant).pin, now).reason == "ok"


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_new_email_follows_the_holder_to_the_provider(site, tenant) -> None:
    cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    contact_update(actor=ACTOR, contact=tenant, details=_details(tenant, email="new.address@example.com"))
    holder = site.holder(tenant)
    assert holder.email == "new.address@example.com"
    assert decide(site, holder.pin, dt.datetime(2026, 3, 2, 9, tzinfo=UTC)).reason == "ok"


@time_machine.travel(dt.datetime(2026, 6, 2, 9, tzinfo=UTC), tick=False)
def test_an_ended_booking_gets_no_grants_back_when_a_contact_changes(site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
    grants_end_due()
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    contact_add(
        actor=ACTOR,
        customer=tenant.customer,
        details=ContactDetails(first_name="Pat", email="pat@example.com", can_access_portal=True),
    )
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()


def test_emails_are_split_validated_and_merged() -> None:
    assert email_addresses_parse("a@example.com, B@example.com\nb@example.com;c@example.com") == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]
    with pytest.raises(ValidationError) as error:
        email_addresses_parse("a@example.com, not-an-email")
    assert error.value.messages == ["Not a valid email address: not-an-email."]
    with pytest.raises(ValidationError):
        email_addresses_parse(" , \n")


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_share_rules_each_error_beside_its_field_and_nothing_created(
    site, tenant, other_site, other_tenant
) -> None:
    booking = cast.book(tenant, site, ends_on=dt.date(2026, 3, 31))
    cast.book(other_tenant, other_site, ends_on=dt.date(2026, 3, 31))

    def attempt(**changes):
        fields = {
            "emails": ["friend@example.com", "second@example.com"],
            "units": site.units[:1],
            "starts_on": dt.date(2026, 3, 3),
            "ends_on": dt.date(2026, 3, 9),
        } | changes
        with pytest.raises(ValidationError) as error:
            share_create(actor=ACTOR, booking=booking, shared_by=tenant, request=ShareRequest(**fields))
        return error.value.message_dict

    assert "starts_on" in attempt(starts_on=dt.date(2026, 3, 1))  # in the past
    assert "ends_on" in attempt(ends_on=dt.date(2026, 3, 2))  # before start
    assert "ends_on" in attempt(ends_on=dt.date(2026, 4, 1))  # after the booking
    assert "units" in attempt(units=other_site.units[:1])  # another tenant's unit
    assert "units" in attempt(units=[site.units[2]])  # not mapped
    assert "units" in attempt(units=[])
    assert SharedAccess.objects.count() == 0
    assert not AccessGrant.objects.filter(origin=GrantOrigin.SHARE).exists()
    assert len(mail.outbox) == 0


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_share_limit_per_booking(settings, site, tenant) -> None:
    settings.ACCESS_SHARES_PER_BOOKING = 2
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    cast.share(booking, "one@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9))
    with pytest.raises(ValidationError) as error:
        share_create(
            actor=ACTOR,
            booking=booking,
            shared_by=tenant,
            request=ShareRequest(
                emails=["two@example.com", "three@example.com"],
                units=site.units[:1],
                starts_on=dt.date(2026, 3, 3),
                ends_on=dt.date(2026, 3, 9),
            ),
        )
    assert "at most 2" in str(error.value.message_dict["emails"])
    assert SharedAccess.objects.count() == 1


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_guest_gets_the_shared_access_email_with_a_key_and_an_audit_row(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    with django_capture_on_commit_callbacks(execute=True):
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9))
    [message] = mail.outbox
    assert message.to == ["friend@example.com"]
    assert "Storage unit A001" in message.subject
    assert "/key/" in message.body and site.location.address in message.body
    assert "Europe/Berlin" in message.body
    assert AuditEntry.objects.filter(action="access.shared", target_id=share.pk).count() == 1


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_guests_emails_carry_the_branding_of_the_site(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    site.location.brand_name = "Lagerhaus Mitte"
    site.location.save(update_fields=["brand_name"])
    with django_capture_on_commit_callbacks(execute=True):
        cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9))
    [message] = mail.outbox
    [(html, _)] = message.alternatives
    assert "Lagerhaus Mitte" in html


@pytest.mark.parametrize(
    ("time_zone", "starts_on", "ends_on", "start_utc", "end_utc"),
    [
        # Berlin, the share ends the night the clocks go forward (29 March 2026).
        (
            "Europe/Berlin",
            dt.date(2026, 3, 25),
            dt.date(2026, 3, 29),
            dt.datetime(2026, 3, 24, 23, tzinfo=UTC),
            dt.datetime(2026, 3, 29, 22, tzinfo=UTC),
        ),
        # New York, the window spans the change on 8 March 2026 (EST → EDT).
        (
            "America/New_York",
            dt.date(2026, 3, 5),
            dt.date(2026, 3, 10),
            dt.datetime(2026, 3, 5, 5, tzinfo=UTC),
            dt.datetime(2026, 3, 11, 4, tzinfo=UTC),
        ),
    ],
)
def test_window_edges_one_second_either_side(
    time_zone, starts_on, ends_on, start_utc, end_utc, site, tenant
) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        site.set(time_zone=time_zone)
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 4, 30))
        share = cast.share(booking, "friend@example.com", starts_on, ends_on)
    pin = share.holder.pin
    second = dt.timedelta(seconds=1)
    assert decide(site, pin, start_utc - second).reason == "outside_window"
    assert decide(site, pin, start_utc).reason == "ok"
    assert decide(site, pin, end_utc - second).reason == "ok"
    assert decide(site, pin, end_utc).reason == "outside_window"
    assert decide(site, pin, end_utc + second).reason == "outside_window"


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_the_tenant_deletes_a_share_and_the_same_pin_is_denied(site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9))
    now = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert decide(site, share.holder.pin, now).allowed
    share_delete(actor=ACTOR, share=share)
    assert decide(site, share.holder.pin, now).reason == "revoked"
    assert SharedAccess.objects.get(pk=share.pk).state == ShareState.DELETED


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_a_guest_of_two_tenants_is_logged_under_the_booking_the_decision_rests_on(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    other = ContactFactory(email="other-tenant@example.com")
    other_unit = UnitFactory(location=site.location, number="B001")
    UnitAccessPoint.objects.create(unit=other_unit, access_point=site.door)
    other_booking = booking_create(
        actor=ACTOR, customer=other.customer, units=[other_unit], starts_on=dt.date(2026, 3, 1)
    )
    deleted = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 10))
    (upcoming,) = share_create(
        actor=ACTOR,
        booking=other_booking,
        shared_by=other,
        request=ShareRequest(
            emails=["friend@example.com"],
            units=[other_unit],
            starts_on=dt.date(2026, 3, 20),
            ends_on=dt.date(2026, 3, 25),
        ),
    )
    assert upcoming.holder_id == deleted.holder_id  # one guest, one PIN at the location
    share_delete(actor=ACTOR, share=deleted)
    now = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert decide(site, upcoming.holder.pin, now).reason == "outside_window"  # the upcoming share
    assert list(events_for_customer(other.customer).values_list("booking", flat=True)) == [other_booking.pk]
    assert not events_for_customer(tenant.customer).exists()
    with time_machine.travel(dt.datetime(2026, 3, 21, 9, tzinfo=UTC), tick=False):
        assert decide(site, upcoming.holder.pin, dt.datetime(2026, 3, 21, 9, tzinfo=UTC)).allowed
    assert events_for_customer(other.customer).count() == 2


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_pin_opens_only_the_doors_mapped_to_its_units(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    share = cast.share(
        booking, "friend@example.com", dt.date(2026, 3, 2), dt.date(2026, 3, 9), units=[site.units[1]]
    )
    now = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert decide(site, share.holder.pin, now).allowed  # A002 maps to the main door
    assert decide(site, share.holder.pin, now, site.unit_lock).reason == "not_mapped"
    held = set(AccessHolder.objects.values_list("pin", flat=True))
    nobodys = next(pin for pin in ("000000", "111111", "222222") if pin not in held)
    assert decide(site, nobodys, now).reason == "unknown_pin"


def test_the_booking_end_revokes_its_grants_and_every_share_at_the_end_instant(site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 20))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 20))
        booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 10))
    share.refresh_from_db()
    assert share.ends_on == dt.date(2026, 3, 10)  # clamped with the booking
    end = dt.datetime(2026, 3, 10, 23, tzinfo=UTC)
    assert grants_end_due(now=end - dt.timedelta(seconds=1)) == 0
    assert decide(site, share.holder.pin, end - dt.timedelta(seconds=1)).allowed
    assert grants_end_due(now=end) == 4  # 3 booking grants + 1 share grant
    assert not AccessGrant.objects.filter(state=GrantState.ACTIVE).exists()
    assert decide(site, share.holder.pin, end).reason == "outside_window"
    assert decide(site, site.holder(tenant).pin, end).reason == "outside_window"


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_ending_a_booking_before_a_share_starts_revokes_the_share(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 20), dt.date(2026, 3, 25))
    booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 10))
    share.refresh_from_db()
    assert share.state == ShareState.REVOKED
    assert not share.grants.filter(state=GrantState.ACTIVE).exists()


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_cancelling_a_booking_revokes_everything(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    booking_cancel(actor=ACTOR, booking=booking, reason="Moved away")
    now = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)
    assert decide(site, share.holder.pin, now).reason == "revoked"
    assert decide(site, site.holder(tenant).pin, now).reason == "revoked"


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_revoke_access_cascades_and_restore_gives_back_what_it_took(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    current = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    deleted = cast.share(booking, "oops@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    share_delete(actor=ACTOR, share=deleted)
    mail.outbox.clear()
    now = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)
    with pytest.raises(ValidationError):
        booking_revoke_access(actor=ACTOR, booking=booking, reason=" ")
    with django_capture_on_commit_callbacks(execute=True):
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Payment overdue")
    assert decide(site, current.holder.pin, now).reason == "revoked"
    assert decide(site, site.holder(tenant).pin, now).reason == "revoked"
    assert {m.to[0] for m in mail.outbox} == {tenant.email, "friend@example.com"}
    assert all("revoked" in m.subject for m in mail.outbox)
    to_tenant, to_guest = sorted(mail.outbox, key=lambda m: m.to[0] != tenant.email)
    assert "Payment overdue" in to_tenant.body
    assert "Payment overdue" not in to_guest.body and "person who shared it" in to_guest.body
    with pytest.raises(ValidationError):  # no new shares while revoked
        cast.share(booking, "new@example.com", dt.date(2026, 3, 5), dt.date(2026, 3, 6))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_restore_access(actor=ACTOR, booking=booking)
    assert decide(site, current.holder.pin, now).allowed
    assert decide(site, site.holder(tenant).pin, now).allowed
    assert decide(site, deleted.holder.pin, now).reason == "revoked"  # the tenant's Delete stays
    assert {m.to[0] for m in mail.outbox} == {tenant.email, "friend@example.com"}
    assert (
        AuditEntry.objects.filter(action__in=["access.booking_revoked", "access.booking_restored"]).count()
        == 2
    )


def _access_statements_of_revoke(shares: int) -> int:
    """How many statements on grants and shares revoking a booking with `shares` shares takes."""
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        booking = cast.book(ContactFactory(), cast.site_create())
        for n in range(shares):
            cast.share(booking, f"g{n}@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 6))
        with CaptureQueriesContext(connection) as queries:
            booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    assert SharedAccess.objects.filter(booking=booking, state=ShareState.REVOKED).count() == shares
    tables = ("access_accessgrant", "access_sharedaccess", "access_syncintent")
    return sum(any(table in query["sql"] for table in tables) for query in queries.captured_queries)


def test_revoking_a_booking_with_more_shares_takes_no_more_statements_on_access() -> None:
    assert _access_statements_of_revoke(6) == _access_statements_of_revoke(2)


def test_restore_does_not_bring_back_a_share_whose_window_has_passed(site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 6))
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=UTC), tick=False):
        booking_restore_access(actor=ACTOR, booking=booking)
    share.refresh_from_db()
    assert share.state == ShareState.REVOKED


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_pins_are_unique_per_location_and_length_configurable(settings, site, tenant) -> None:
    settings.ACCESS_PIN_LENGTH = 4
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    shares = [
        cast.share(booking, f"g{n}@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 4)) for n in range(15)
    ]
    pins = [s.holder.pin for s in shares] + [site.holder(tenant).pin]
    assert len(set(pins)) == len(pins)
    assert all(len(pin) == 4 for pin in pins)


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_closed_location_denies_with_its_reason(site, tenant) -> None:
    from keyport.facilities.models import OpeningHours

    cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    OpeningHours.objects.create(location=site.location, weekday=0, opens_at=dt.time(6), closes_at=dt.time(8))
    assert (
        decide(site, site.holder(tenant).pin, dt.datetime(2026, 3, 2, 9, tzinfo=UTC)).reason
        == "location_closed"
    )


def test_unit_of_another_location_cannot_be_added(site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        stranger = UnitFactory()
        with pytest.raises(ValidationError):
            cast.share(
                booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 4), units=[stranger]
            )


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_an_inactive_account_pauses_its_guests_too_and_they_come_back_with_it(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    now = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)
    customer_set_active(actor=ACTOR, customer=tenant.customer, is_active=False)
    assert decide(site, site.holder(tenant).pin, now).reason == "revoked"
    assert decide(site, share.holder.pin, now).reason == "revoked"
    customer_set_active(actor=ACTOR, customer=tenant.customer, is_active=True)
    assert decide(site, share.holder.pin, now).allowed
    assert decide(site, site.holder(tenant).pin, now).allowed


@time_machine.travel(dt.datetime(2026, 3, 10, 9, tzinfo=UTC), tick=False)
def test_revoke_leaves_shares_whose_window_is_over_alone(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        past = cast.share(booking, "last-week@example.com", dt.date(2026, 3, 2), dt.date(2026, 3, 3))
        grants_end_due(now=dt.datetime(2026, 3, 5, tzinfo=UTC))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    assert [m.to for m in mail.outbox] == [[tenant.email]]
    past.refresh_from_db()
    assert (past.state, past.revoked_with_booking) == (ShareState.ACTIVE, False)


def test_restore_after_the_booking_ended_gives_no_grants_and_sends_nothing(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 20))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 20))
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    mail.outbox.clear()
    with (
        time_machine.travel(dt.datetime(2026, 4, 10, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        booking_restore_access(actor=ACTOR, booking=booking)
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()
    assert mail.outbox == []
    share.refresh_from_db()
    assert share.state == ShareState.REVOKED
    assert AuditEntry.objects.filter(action="access.booking_restored").exists()


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_restore_of_a_cancelled_booking_brings_nothing_back_and_sends_nothing(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    booking_cancel(actor=ACTOR, booking=booking, reason="Moved out")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_restore_access(actor=ACTOR, booking=booking)
    assert mail.outbox == []
    share.refresh_from_db()
    assert (share.state, share.revoked_with_booking) == (ShareState.REVOKED, False)
    entry = AuditEntry.objects.get(action="access.booking_restored")
    assert entry.details["shares"] == []


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_a_share_no_longer_covered_while_revoked_stays_revoked_after_restore(
    django_capture_on_commit_callbacks, site, tenant
) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    later = cast.share(booking, "later@example.com", dt.date(2026, 3, 20), dt.date(2026, 3, 25))
    kept = cast.share(booking, "kept@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 15))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_restore_access(actor=ACTOR, booking=booking)
    later.refresh_from_db()
    kept.refresh_from_db()
    assert later.state == ShareState.REVOKED
    assert (kept.state, kept.ends_on) == (ShareState.ACTIVE, dt.date(2026, 3, 15))
    assert {m.to[0] for m in mail.outbox} == {tenant.email, "kept@example.com"}
    assert decide(site, later.holder.pin, dt.datetime(2026, 3, 21, 9, tzinfo=UTC)).reason != "ok"


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_new_time_zone_moves_every_current_window(site, tenant) -> None:
    from keyport.access.location_settings import location_details_update

    booking = cast.book(tenant, site, ends_on=dt.date(2026, 3, 31))
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 5), dt.date(2026, 3, 9))
    location_details_update(actor=ACTOR, location=site.location, time_zone="America/New_York")
    guest = AccessGrant.objects.get(share=share)
    assert (guest.starts_at, guest.ends_at) == (
        dt.datetime(2026, 3, 5, 5, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 4, tzinfo=UTC),  # New York moved to summer time on 8 March
    )
    tenant_grant = AccessGrant.objects.filter(booking=booking, origin=GrantOrigin.BOOKING).first()
    assert tenant_grant is not None
    assert tenant_grant.ends_at == dt.datetime(2026, 4, 1, 4, tzinfo=UTC)
    assert decide(site, share.holder.pin, dt.datetime(2026, 3, 5, 4, tzinfo=UTC)).reason == "outside_window"
    assert decide(site, share.holder.pin, dt.datetime(2026, 3, 5, 5, tzinfo=UTC)).allowed


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_holder_made_meanwhile_by_another_request_is_shared(monkeypatch, site, tenant) -> None:
    from keyport.access import services

    cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    made = services.holder_for_guest(location=site.location, email="friend@example.com")
    real_filter = AccessHolder.objects.filter
    misses = iter([True])

    def first_lookup_misses(*args, **kwargs):
        found = real_filter(*args, **kwargs)
        return found.none() if next(misses, False) else found

    monkeypatch.setattr(AccessHolder.objects, "filter", first_lookup_misses)
    assert services.holder_for_guest(location=site.location, email="friend@example.com") == made


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_sharing_with_someone_who_has_access_already_is_refused(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9))
    with pytest.raises(ValidationError) as refused:
        cast.share(booking, tenant.email.upper(), dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    assert "through the account" in str(refused.value.message_dict["emails"])
    with pytest.raises(ValidationError) as refused:
        cast.share(booking, "friend@example.com", dt.date(2026, 3, 9), dt.date(2026, 3, 12))
    assert "delete that share first" in str(refused.value.message_dict["emails"])
    assert SharedAccess.objects.count() == 1
    cast.share(booking, "friend@example.com", dt.date(2026, 3, 10), dt.date(2026, 3, 12))  # the week after
    cast.share(booking, "friend@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 9), units=[site.units[1]])
    assert SharedAccess.objects.count() == 3


def test_revoke_reads_its_email_template_once_however_many_guests_it_tells(site, tenant) -> None:
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        for n in range(6):
            cast.share(booking, f"g{n}@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 6))
        with CaptureQueriesContext(connection) as queries:
            booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    statements = [query["sql"] for query in queries.captured_queries]
    assert sum("emails_emailtemplate" in sql for sql in statements) == 1
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) <= 3
    assert sum('INSERT INTO "emails_outgoingemail"' in sql for sql in statements) == 7


@time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False)
def test_a_crowded_location_still_finds_its_last_free_pins_then_says_so(settings, site, tenant) -> None:
    settings.ACCESS_PIN_LENGTH = 4
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    taken = set(AccessHolder.objects.values_list("pin", flat=True))
    keep_free = [pin for pin in (f"{n:04d}" for n in range(10_000)) if pin not in taken][:2]
    AccessHolder.objects.bulk_create(
        AccessHolder(location=site.location, email=f"past{n}@example.com", pin=f"{n:04d}")
        for n in range(10_000)
        if f"{n:04d}" not in taken and f"{n:04d}" not in keep_free
    )
    first = cast.share(booking, "one@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    second = cast.share(booking, "two@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    assert {first.holder.pin, second.holder.pin} == set(keep_free)
    with pytest.raises(ValidationError, match="Every PIN of this length is taken"):
        cast.share(booking, "three@example.com", dt.date(2026, 3, 3), dt.date(2026, 3, 4))
    assert not AccessHolder.objects.filter(email="three@example.com").exists()


@time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=UTC), tick=False)
def test_a_share_deleted_while_its_booking_is_revoked_stays_deleted_after_restore(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 25))
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    share_delete(actor=ACTOR, share=share)
    booking_restore_access(actor=ACTOR, booking=booking)
    share.refresh_from_db()
    assert share.state == ShareState.DELETED
    assert decide(site, share.holder.pin, dt.datetime(2026, 3, 4, 9, tzinfo=UTC)).reason == "revoked"
    assert AuditEntry.objects.filter(action="access.share_deleted").count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_end_task_and_the_sweep_at_the_same_moment_end_each_grant_once(monkeypatch, site, tenant) -> None:
    import threading

    from keyport.access.services import grants

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 20))
    locked, release = threading.Event(), threading.Event()
    real_end_grants = grants._end_grants

    def end_grants_slowly(*args, **kwargs):
        locked.set()  # the task holds its due grants
        release.wait(timeout=10)
        real_end_grants(*args, **kwargs)

    after_the_end = dt.datetime(2026, 3, 21, tzinfo=UTC)

    def the_end_task() -> None:
        try:
            grants_end_due(now=after_the_end, booking=booking)
        finally:
            connection.close()

    monkeypatch.setattr(grants, "_end_grants", end_grants_slowly)
    task = threading.Thread(target=the_end_task)
    task.start()
    assert locked.wait(timeout=10)
    monkeypatch.setattr(grants, "_end_grants", real_end_grants)
    try:
        assert grants_end_due(now=after_the_end) == 0  # the sweep skips what the task holds
    finally:
        release.set()
        task.join()
    assert AuditEntry.objects.filter(action="access.window_ended").count() == 1
    assert not AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE).exists()

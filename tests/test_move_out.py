"""Move out (now, at the end of the day, scheduled), Cancel a Reserved booking, Transfer to
another unit: the booking's access, its shares and its units follow, and bad input changes nothing."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from keyport.access.models import (
    AccessGrant,
    GrantState,
    SharedAccess,
    ShareState,
    SyncIntent,
    SyncIntentStatus,
    SyncOperation,
)
from keyport.access.services import (
    access_decide,
    booking_restore_access,
    booking_revoke_access,
    grants_end_due,
)
from keyport.access.services.doors import Door
from keyport.access.tasks import booking_access_end
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.bookings.models import Booking, BookingUnit
from keyport.emails.models import OutgoingEmail
from keyport.facilities.models import UnitAccessPoint, UnitStatus
from keyport.frontdesk.services import (
    booking_cancel_reservation,
    booking_create,
    booking_move_out,
    booking_move_out_cancel,
    booking_transfer,
)
from keyport.staff.models import Role
from tests import cast
from tests.factories import CustomerFactory, LocationFactory, StaffUserFactory, UnitFactory
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
UTC = dt.UTC
ACTOR = Actor.system("tests")
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)  # 10:00 in Berlin
TODAY = dt.date(2026, 3, 4)


def decide(site, pin: str, when: dt.datetime, access_point=None):
    decision = access_decide(door=Door.of(access_point or site.door), pin=pin, channel="device", when=when)
    return decision.allowed


def active_grants(booking: Booking):
    return AccessGrant.objects.filter(booking=booking, state=GrantState.ACTIVE)


def pending_deletes(booking: Booking) -> set[int]:
    return set(
        SyncIntent.objects.filter(
            grant__booking=booking, operation=SyncOperation.DELETE, status=SyncIntentStatus.PENDING
        ).values_list("grant_id", flat=True)
    )


def move_out_emails() -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(template="move_out").order_by("pk"))


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW and shared with friend@example.com."""
    with time_machine.travel(NOW, tick=False):
        site.set(access_provider="sensorberg")
        booking = cast.book(tenant, site)
        cast.share(booking, "friend@example.com", TODAY, dt.date(2026, 3, 20))
        return booking


def the_share(booking) -> SharedAccess:
    return SharedAccess.objects.get(booking=booking)


# Move out now.


@time_machine.travel(NOW, tick=False)
def test_move_out_now_ends_the_access_of_the_tenant_and_every_share_at_once(
    client, owner, site, tenant, booking
) -> None:
    guest_pin = the_share(booking).holder.pin
    assert decide(site, site.holder(tenant).pin, NOW) and decide(site, guest_pin, NOW)
    grants = set(AccessGrant.objects.filter(booking=booking).values_list("pk", flat=True))
    booking_move_out(actor=ACTOR, booking=booking, on=TODAY, access_ends_now=True)
    client.force_login(owner)
    booking_now = Booking.objects.get(pk=booking.pk)
    assert (booking_now.ends_on, booking_now.ended_at, booking_now.phase_label(TODAY)) == (
        TODAY,
        NOW,
        "Ended",
    )
    assert not decide(site, site.holder(tenant).pin, NOW)
    assert not decide(site, guest_pin, NOW)
    assert not active_grants(booking_now).exists()
    assert set(AccessGrant.objects.filter(booking=booking_now).values_list("origin", "state")) == {
        ("booking", GrantState.ENDED),
        ("share", GrantState.REVOKED),
    }
    assert pending_deletes(booking_now) == grants  # the provider is told to remove every one
    share = the_share(booking)
    assert (share.state, share.ended_at) == (ShareState.REVOKED, NOW)
    entry = AuditEntry.objects.get(action="booking.moved_out")
    assert entry.details == {"on": "2026-03-04", "access_ends": "now", "previous_end": None}
    (email,) = move_out_emails()
    assert email.to == tenant.email
    assert "on Wed 4 Mar 2026" in email.body_text and "Your access ended at 10:00" in email.body_text
    page = client.get(reverse("dashboard:booking_detail", args=[booking_now.pk])).content.decode()
    assert "moved out, access ended" in page and 'id="move-out-form"' not in page
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=site.units, starts_on=TODAY)  # free today


@time_machine.travel(NOW, tick=False)
def test_a_unit_moved_in_and_out_the_same_day_is_free_again_that_day(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=TODAY)
    booking_move_out(actor=ACTOR, booking=booking, on=TODAY, access_ends_now=True)
    assert not active_grants(booking).exists()
    assert Booking.objects.get(pk=booking.pk).phase_label(TODAY) == "Ended"
    assert [unit.number for unit in booking.units.all()] == ["A001", "A002", "A003"]
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=site.units, starts_on=TODAY)


@time_machine.travel(NOW, tick=False)
def test_after_move_out_now_the_portal_open_is_refused(client, tenant, booking, site) -> None:
    sign_in_as(client, tenant)
    url = reverse("portal:portal_open", args=[booking.pk, site.door.pk])
    assert client.post(url, follow=True).context["decision"].allowed
    booking_move_out(actor=ACTOR, booking=booking, on=TODAY, access_ends_now=True)
    assert not client.post(url, follow=True).context["decision"].allowed


@time_machine.travel(NOW, tick=False)
def test_a_paused_share_does_not_come_back_after_move_out_now(booking) -> None:
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    booking_move_out(actor=ACTOR, booking=booking, on=TODAY, access_ends_now=True)
    booking_restore_access(actor=ACTOR, booking=booking)
    assert not active_grants(booking).exists()
    share = the_share(booking)
    assert (share.state, share.revoked_with_booking) == (ShareState.REVOKED, False)


def test_move_out_at_the_end_of_today_keeps_access_until_midnight_and_frees_the_unit_after(
    site, tenant, booking
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking_move_out(actor=ACTOR, booking=booking, on=TODAY)
    end = dt.datetime(2026, 3, 4, 23, tzinfo=UTC)  # midnight in Berlin
    pin = site.holder(tenant).pin
    assert decide(site, pin, end - dt.timedelta(seconds=1)) and not decide(site, pin, end)
    with time_machine.travel(end, tick=False):
        assert booking_access_end.call(booking.pk) == 4  # three units for the tenant, one for the guest
    assert not active_grants(booking).exists()
    assert "work until the end of that day" in move_out_emails()[0].body_text
    with pytest.raises(ValidationError):
        booking_create(actor=ACTOR, customer=CustomerFactory(), units=[site.units[0]], starts_on=TODAY)
    booking_create(
        actor=ACTOR, customer=CustomerFactory(), units=[site.units[0]], starts_on=dt.date(2026, 3, 5)
    )


# A scheduled move-out.


def test_a_scheduled_move_out_ends_access_at_its_end_instant(site, tenant, booking) -> None:
    with time_machine.travel(NOW, tick=False):
        booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 10))
    (email,) = move_out_emails()  # sent when scheduled: it confirms the date
    assert "on Tue 10 Mar 2026" in email.body_text
    end = dt.datetime(2026, 3, 10, 23, tzinfo=UTC)
    guest_pin = the_share(booking).holder.pin
    with time_machine.travel(end - dt.timedelta(seconds=1), tick=False):
        assert grants_end_due() == 0
        assert Booking.objects.get(pk=booking.pk).phase_label(dt.date(2026, 3, 10)) == "Ending soon"
    assert active_grants(booking).count() == 4  # three units for the tenant, one for the guest
    with time_machine.travel(end, tick=False):
        assert booking_access_end.call(booking.pk) == 4
        assert not decide(site, site.holder(tenant).pin, end)
        assert not decide(site, guest_pin, end)
    assert not active_grants(booking).exists()
    assert set(AccessGrant.objects.filter(booking=booking).values_list("state", flat=True)) == {
        GrantState.ENDED
    }
    assert pending_deletes(booking) == set(
        AccessGrant.objects.filter(booking=booking).values_list("pk", flat=True)
    )
    booking_create(
        actor=ACTOR, customer=CustomerFactory(), units=site.units[:1], starts_on=dt.date(2026, 3, 11)
    )


@time_machine.travel(NOW, tick=False)
def test_a_scheduled_move_out_can_be_changed_and_the_tenant_is_told_again(client, owner, booking) -> None:
    booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 10))
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert (
        "Move-out scheduled for 10 Mar 2026" in page
        and "Cancel move-out" in page
        and "Change move-out" in page
    )
    response = client.post(
        reverse("dashboard:booking_move_out", args=[booking.pk]),
        {"on": "2026-03-15", "access_ends": "end_of_day"},
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.ends_on == dt.date(2026, 3, 15)
    tenants = active_grants(booking).filter(share__isnull=True)
    assert {g.ends_at for g in tenants} == {dt.datetime(2026, 3, 15, 23, tzinfo=UTC)}
    assert the_share(booking).ends_on == dt.date(2026, 3, 10)  # cut short with the first date, as shares are
    assert [e.details["previous_end"] for e in AuditEntry.objects.filter(action="booking.moved_out")] == [
        "2026-03-10",
        None,
    ]
    assert len(move_out_emails()) == 2 and "Sun 15 Mar 2026" in move_out_emails()[1].body_text


@time_machine.travel(NOW, tick=False)
def test_cancelling_a_scheduled_move_out_makes_the_booking_open_ended_again(
    client, owner, booking, tenant
) -> None:
    booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 10))
    client.force_login(owner)
    response = client.post(reverse("dashboard:booking_move_out_cancel", args=[booking.pk]))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.ends_on is None
    assert {g.ends_at for g in active_grants(booking) if g.share_id is None} == {None}
    assert AuditEntry.objects.get(action="booking.move_out_cancelled").details == {"was": "2026-03-10"}
    (email,) = OutgoingEmail.objects.filter(template="move_out_cancelled")
    assert email.to == tenant.email and "on Tue 10 Mar 2026 is cancelled" in email.body_text
    with pytest.raises(ValidationError, match="No move-out is scheduled"):
        booking_move_out_cancel(actor=ACTOR, booking=booking)


def test_a_move_out_that_happened_cannot_be_cancelled(booking) -> None:
    with time_machine.travel(NOW, tick=False):
        booking_move_out(actor=ACTOR, booking=booking, on=TODAY, access_ends_now=True)
        with pytest.raises(ValidationError, match="ended already"):
            booking_move_out_cancel(actor=ACTOR, booking=booking)
    booking.refresh_from_db()
    assert booking.ends_on == TODAY


# Bad input on Move out: a message beside its field, and nothing changes.


def booking_state(booking: Booking) -> tuple[object, ...]:
    booking.refresh_from_db()
    grants = sorted(AccessGrant.objects.filter(booking=booking).values_list("pk", "state", "ends_at"))
    return (
        booking.ends_on,
        booking.ended_at,
        tuple(grants),
        AuditEntry.objects.count(),
        OutgoingEmail.objects.count(),
    )


@pytest.mark.parametrize(
    ("post", "field", "message"),
    [
        ({"on": "2026-03-03"}, "on", "The move-out cannot be in the past."),
        ({"on": "2026-02-27"}, "on", "The move-out cannot be before the move-in (Sun 1 Mar 2026)."),
        ({"on": "soon"}, "on", "Enter a valid date."),
        ({"on": ""}, "on", "This field is required."),
        (
            {"on": "2026-03-10", "access_ends": "now"},
            "access_ends",
            "Access can end now only when the move-out is today.",
        ),
        ({"on": "2026-03-10", "access_ends": "yesterday"}, "access_ends", "Select a valid choice."),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_bad_move_out_input_is_refused_beside_its_field(client, owner, booking, post, field, message) -> None:
    before = booking_state(booking)
    client.force_login(owner)
    response = client.post(reverse("dashboard:booking_move_out", args=[booking.pk]), post)
    assert response.status_code == 400
    assert message in response.context["move_out_form"].errors[field][0]
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert booking_state(booking) == before


@time_machine.travel(NOW, tick=False)
def test_a_move_out_that_clashes_with_the_next_booking_is_refused(booking, site) -> None:
    booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 10))
    booking_create(
        actor=ACTOR, customer=CustomerFactory(), units=site.units[:1], starts_on=dt.date(2026, 3, 12)
    )
    before = booking_state(booking)
    with pytest.raises(ValidationError) as refused:
        booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 20))
    assert "Already booked for these dates: A001." in refused.value.message_dict["on"]
    assert booking_state(booking) == before


@time_machine.travel(NOW, tick=False)
def test_an_ended_or_cancelled_booking_cannot_be_moved_out(tenant, site, booking) -> None:
    ended = booking_create(
        actor=ACTOR,
        customer=tenant.customer,
        units=[UnitFactory(location=site.location)],
        starts_on=dt.date(2026, 2, 1),
        ends_on=dt.date(2026, 2, 28),
    )
    reserved = booking_create(
        actor=ACTOR,
        customer=tenant.customer,
        units=[UnitFactory(location=site.location)],
        starts_on=dt.date(2026, 4, 1),
    )
    booking_cancel_reservation(actor=ACTOR, booking=reserved, reason="Changed their mind")
    for booking_now, message in ((ended, "ended already"), (reserved, "cancelled")):
        before = booking_state(booking_now)
        with pytest.raises(ValidationError, match=message):
            booking_move_out(actor=ACTOR, booking=booking_now, on=TODAY)
        assert booking_state(booking_now) == before


# Cancel a Reserved booking.


@time_machine.travel(NOW, tick=False)
def test_cancelling_a_reserved_booking_leaves_no_grant_and_frees_its_units(
    client, owner, site, tenant
) -> None:
    site.set(access_provider="sensorberg")
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 10))
    grants = AccessGrant.objects.filter(booking=booking)
    upserts = SyncIntent.objects.filter(grant__in=grants, operation=SyncOperation.UPSERT)
    assert grants.count() == 3 and set(upserts.values_list("status", flat=True)) == {SyncIntentStatus.PENDING}
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert "Cancel booking" in page and "Transfer" not in page
    response = client.post(
        reverse("dashboard:booking_cancel", args=[booking.pk]), {"reason": "No longer needed"}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.phase_label(TODAY) == "Cancelled"
    assert not active_grants(booking).exists()
    assert set(upserts.values_list("status", flat=True)) == {SyncIntentStatus.SUPERSEDED}
    assert pending_deletes(booking) == set(grants.values_list("pk", flat=True))
    assert not decide(site, site.holder(tenant).pin, dt.datetime(2026, 3, 12, 9, tzinfo=UTC))
    assert AuditEntry.objects.get(action="booking.cancelled").details == {"reason": "No longer needed"}
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=site.units, starts_on=dt.date(2026, 3, 10))


@time_machine.travel(NOW, tick=False)
def test_a_booking_that_has_started_is_not_cancelled_but_moved_out(client, owner, booking) -> None:
    before = booking_state(booking)
    client.force_login(owner)
    response = client.post(reverse("dashboard:booking_cancel", args=[booking.pk]), {"reason": "Gone"})
    assert response.status_code == 400
    assert response.context["cancel_form"].errors["reason"] == [
        "This booking has started: move it out instead."
    ]
    assert booking_state(booking) == before
    assert not booking.is_cancelled


@time_machine.travel(NOW, tick=False)
def test_cancelling_needs_a_reason_beside_its_field(client, owner, site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 10))
    client.force_login(owner)
    response = client.post(reverse("dashboard:booking_cancel", args=[booking.pk]), {"reason": " "})
    assert (
        response.status_code == 400
        and "This field is required." in response.context["cancel_form"].errors["reason"]
    )
    booking.refresh_from_db()
    assert not booking.is_cancelled and active_grants(booking).count() == 3


# Transfer.


def mapped_unit(site, number: str):
    unit = UnitFactory(location=site.location, number=number)
    UnitAccessPoint.objects.create(unit=unit, access_point=site.door)
    return unit


@time_machine.travel(NOW, tick=False)
def test_transfer_moves_the_grants_and_the_shares_of_the_old_unit_to_the_new_one(
    client, owner, site, tenant, booking
) -> None:
    old, new = site.units[0], mapped_unit(site, "B001")
    share = the_share(booking)
    guest_pin, tenant_pin = share.holder.pin, site.holder(tenant).pin
    assert decide(site, tenant_pin, NOW, site.unit_lock) and decide(site, guest_pin, NOW, site.unit_lock)
    old_grants = set(AccessGrant.objects.filter(booking=booking, unit=old).values_list("pk", flat=True))
    client.force_login(owner)
    response = client.post(
        reverse("dashboard:booking_transfer", args=[booking.pk]),
        {"from_unit": old.pk, "to_unit": new.pk},
    )
    assert response.status_code == 302
    ended = AccessGrant.objects.filter(pk__in=old_grants)
    assert {(g.state, g.ends_at) for g in ended} == {(GrantState.ENDED, NOW)}
    assert pending_deletes(booking) == old_grants
    assert {(g.holder_id, g.starts_at) for g in active_grants(booking).filter(unit=new)} == {
        (site.holder(tenant).pk, dt.datetime(2026, 3, 3, 23, tzinfo=UTC)),  # from today, Berlin time
        (share.holder_id, share.starts_at()),
    }
    assert set(the_share(booking).units.all()) == {new}
    assert not decide(site, tenant_pin, NOW, site.unit_lock)  # the old unit's own lock
    assert not decide(site, guest_pin, NOW, site.unit_lock)
    assert decide(site, tenant_pin, NOW) and decide(site, guest_pin, NOW)  # the new unit's door
    row = BookingUnit.objects.get(booking=booking, unit=new)
    assert row.starts_on == TODAY
    assert set(booking.units.all()) == {new, *site.units[1:]}
    entry = AuditEntry.objects.get(action="booking.transferred")
    assert (entry.details["from"], entry.details["to"], entry.details["on"]) == ("A001", "B001", "2026-03-04")
    assert entry.details["shares_moved"] == [share.pk]
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=[old], starts_on=TODAY)  # free again


@time_machine.travel(NOW, tick=False)
def test_after_a_transfer_the_move_out_and_restore_follow_the_new_unit(site, booking) -> None:
    old, new = site.units[0], mapped_unit(site, "B001")
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    booking_transfer(actor=ACTOR, booking=booking, from_unit=old, to_unit=new)
    booking_restore_access(actor=ACTOR, booking=booking)
    assert not active_grants(booking).filter(unit=old).exists()
    assert active_grants(booking).filter(unit=new).count() == 2  # the tenant and the guest
    booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 12))
    assert {g.ends_at for g in active_grants(booking)} == {dt.datetime(2026, 3, 12, 23, tzinfo=UTC)}
    with pytest.raises(ValidationError) as refused:
        booking_move_out(actor=ACTOR, booking=booking, on=dt.date(2026, 3, 3))
    assert refused.value.message_dict["on"] == ["The move-out cannot be in the past."]


def refused_transfer(booking, site, to_unit, from_unit=None) -> dict[str, list[str]]:
    before = (
        booking_state(booking),
        sorted(BookingUnit.objects.values_list("pk", "unit_id", "starts_on")),
    )
    with pytest.raises(ValidationError) as refused:
        booking_transfer(actor=ACTOR, booking=booking, from_unit=from_unit or site.units[0], to_unit=to_unit)
    after = (
        booking_state(booking),
        sorted(BookingUnit.objects.values_list("pk", "unit_id", "starts_on")),
    )
    assert after == before
    assert not AuditEntry.objects.filter(action="booking.transferred").exists()
    return (
        refused.value.message_dict if hasattr(refused.value, "error_dict") else {"": refused.value.messages}
    )


@time_machine.travel(NOW, tick=False)
def test_transfer_refusals_change_nothing(site, booking) -> None:
    elsewhere = UnitFactory(location=LocationFactory(), number="Z001")
    broken = mapped_unit(site, "B002")
    broken.status, broken.out_of_service_reason = UnitStatus.OUT_OF_SERVICE, "Door broken"
    broken.save()
    taken = mapped_unit(site, "B003")
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=[taken], starts_on=dt.date(2026, 3, 20))
    assert refused_transfer(booking, site, elsewhere) == {"to_unit": ["This unit is at another location."]}
    assert refused_transfer(booking, site, broken) == {"to_unit": ["Unit B002 is Out of service."]}
    assert refused_transfer(booking, site, taken) == {
        "to_unit": ["Unit B003 is not free from today to the booking's end."]
    }
    assert refused_transfer(booking, site, site.units[0]) == {
        "to_unit": ["The booking has this unit already: choose another one."]
    }
    free = mapped_unit(site, "B004")
    assert refused_transfer(booking, site, free, from_unit=taken) == {
        "from_unit": ["This unit is not one of the booking's."]
    }


@time_machine.travel(NOW, tick=False)
def test_a_reserved_booking_is_not_transferred(site, tenant, booking) -> None:
    unit, free = UnitFactory(location=site.location), UnitFactory(location=site.location)
    reserved = booking_create(
        actor=ACTOR, customer=tenant.customer, units=[unit], starts_on=dt.date(2026, 4, 1)
    )
    with pytest.raises(ValidationError, match="Only a current booking"):
        booking_transfer(actor=ACTOR, booking=reserved, from_unit=unit, to_unit=free)
    assert list(reserved.units.all()) == [unit]


@time_machine.travel(NOW, tick=False)
def test_the_transfer_form_offers_only_free_units_and_refuses_others_beside_the_field(
    client, owner, site, booking
) -> None:
    free = mapped_unit(site, "B001")
    taken = mapped_unit(site, "B003")
    booking_create(actor=ACTOR, customer=CustomerFactory(), units=[taken], starts_on=dt.date(2026, 3, 20))
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk]))
    offered = list(page.context["transfer_form"].fields["to_unit"].queryset)
    assert offered == [free]
    before = booking_state(booking)
    response = client.post(
        reverse("dashboard:booking_transfer", args=[booking.pk]),
        {"from_unit": site.units[0].pk, "to_unit": taken.pk},
    )
    assert response.status_code == 400 and "to_unit" in response.context["transfer_form"].errors
    assert booking_state(booking) == before


# Who may.


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.MANAGER])
@time_machine.travel(NOW, tick=False)
def test_only_operators_of_the_location_move_out_cancel_or_transfer(client, site, booking, role) -> None:
    user = StaffUserFactory(role=role)
    user.locations.add(site.location if role == Role.EMPLOYEE else LocationFactory())
    client.force_login(user)
    free = mapped_unit(site, "B001")
    before = booking_state(booking)
    posts = {
        "booking_move_out": {"on": "2026-03-04", "access_ends": "now"},
        "booking_move_out_cancel": {},
        "booking_cancel": {"reason": "Gone"},
        "booking_transfer": {"from_unit": site.units[0].pk, "to_unit": free.pk},
    }
    for name, data in posts.items():
        status = client.post(reverse(f"dashboard:{name}", args=[booking.pk]), data).status_code
        assert status == (403 if role == Role.EMPLOYEE else 404), name
    assert booking_state(booking) == before
    if role == Role.EMPLOYEE:
        page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
        assert 'id="move-out-form"' not in page


@time_machine.travel(NOW, tick=False)
def test_the_move_out_form_defaults_to_today_in_the_locations_time_zone(client, owner, site, tenant) -> None:
    late = dt.datetime(2026, 3, 4, 23, 30, tzinfo=UTC)  # already 5 March in Berlin
    with time_machine.travel(late, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        client.force_login(owner)
        page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert 'name="on" value="2026-03-05"' in page
    assert 'value="end_of_day" checked' in page


@time_machine.travel(NOW, tick=False)
def test_the_booking_page_shows_its_rent_deposit_note_and_customer_and_each_form_its_own_ids(
    client, owner, booking, site
) -> None:
    from decimal import Decimal

    Booking.objects.filter(pk=booking.pk).update(deposit=Decimal("100.00"), note="Gate code on file")
    BookingUnit.objects.filter(booking=booking).update(monthly_rent=Decimal("40.00"))
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    rents = len(site.units) * 40
    assert f"{rents}.00 EUR" in page and "100.00 EUR" in page and "Gate code on file" in page
    assert reverse("dashboard:customer_detail", args=[booking.customer_id]) in page
    assert page.count('id="id_on"') == 1 and 'id="id_transfer_on"' in page


@time_machine.travel(NOW, tick=False)
def test_a_reserved_booking_offers_cancel_not_move_out(client, owner, site, tenant) -> None:
    reserved = cast.book(tenant, site, starts_on=dt.date(2026, 3, 20), ends_on=dt.date(2026, 6, 30))
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[reserved.pk])).content.decode()
    assert "Cancel booking" in page
    assert 'id="move-out-form"' not in page and "Cancel move-out" not in page

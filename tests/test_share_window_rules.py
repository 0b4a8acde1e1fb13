"""Every rule of a share's window fails a test when broken: what a share may ask for, how it follows
its booking (clamped, revoked, sent to the provider again), and what the sweep ends."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from keyport.access.models import AccessEvent, AccessGrant, GrantState, SharedAccess, ShareState, SyncIntent
from keyport.access.services import (
    ShareRequest,
    access_decide,
    booking_restore_access,
    booking_revoke_access,
    grants_end_due,
    grants_sync_for_booking,
    share_create,
    share_delete,
    share_validate,
)
from keyport.access.services.doors import Door
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.bookings.models import Booking
from keyport.facilities.models import UnitAccessPoint
from keyport.frontdesk.services import booking_create, booking_set_end_date
from tests import cast
from tests.factories import ContactFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
UTC = dt.UTC
TODAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)


def errors(site, booking, *, today: dt.date = TODAY, **changes) -> dict[str, list[str]]:
    """What `share_validate` says of a request for one guest, A001, 5 to 9 March, changed by `changes`."""
    fields = {
        "emails": ["friend@example.com"],
        "units": site.units[:1],
        "starts_on": dt.date(2026, 3, 5),
        "ends_on": dt.date(2026, 3, 9),
    } | changes
    try:
        share_validate(booking=booking, request=ShareRequest(**fields), today=today)
    except ValidationError as error:
        return error.message_dict
    return {}


def decide(site, pin: str, when: dt.datetime) -> tuple[bool, str]:
    decision = access_decide(door=Door.of(site.door), pin=pin, channel="device", when=when)
    return decision.allowed, decision.reason


def move_start(booking: Booking, starts_on: dt.date) -> None:
    """The booking's first day edited (as the admin does), then its access synced."""
    Booking.objects.filter(pk=booking.pk).update(starts_on=starts_on)
    booking.booking_units.update(starts_on=starts_on)
    grants_sync_for_booking(actor=ACTOR, booking=booking)


def upserts(share: SharedAccess) -> list[tuple[str, dt.datetime | None]]:
    """The provider intents of the share's grant, oldest first: status, and the window they carry."""
    return list(
        SyncIntent.objects.filter(grant__share=share, operation="upsert")
        .order_by("pk")
        .values_list("status", flat=True)
    )


# What a share may ask for.


@time_machine.travel(NOW, tick=False)
def test_a_share_starts_no_earlier_than_today_and_its_booking(site, tenant, other_site, other_tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 10), ends_on=dt.date(2026, 3, 31))
    assert errors(site, booking, starts_on=dt.date(2026, 3, 9)) == {
        "starts_on": ["The start date cannot be before the booking starts (10 Mar 2026)."]
    }
    assert errors(site, booking, starts_on=dt.date(2026, 3, 10), ends_on=dt.date(2026, 3, 12)) == {}
    started = cast.book(other_tenant, other_site, starts_on=dt.date(2026, 2, 1))
    assert errors(other_site, started, starts_on=dt.date(2026, 3, 1)) == {
        "starts_on": ["The start date cannot be in the past."]
    }
    assert errors(other_site, started, starts_on=TODAY) == {}


@time_machine.travel(NOW, tick=False)
def test_a_share_ends_no_earlier_than_it_starts_and_no_later_than_its_booking(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
    assert errors(site, booking, ends_on=dt.date(2026, 3, 4)) == {
        "ends_on": ["The end date cannot be before the start date."]
    }
    assert errors(site, booking, ends_on=dt.date(2026, 3, 5)) == {}  # one day
    assert errors(site, booking, ends_on=dt.date(2026, 4, 1)) == {
        "ends_on": ["The end date cannot be after the booking ends (31 Mar 2026)."]
    }
    assert errors(site, booking, ends_on=dt.date(2026, 3, 31)) == {}


def test_a_booking_can_be_shared_up_to_its_last_day_and_not_after(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 9))
    with time_machine.travel(dt.datetime(2026, 3, 9, 12, tzinfo=UTC), tick=False):
        assert errors(site, booking, today=dt.date(2026, 3, 9), starts_on=dt.date(2026, 3, 9)) == {}
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=UTC), tick=False):
        ended = errors(site, booking, today=dt.date(2026, 3, 10), starts_on=dt.date(2026, 3, 10))
    assert ended["__all__"] == ["This booking has ended, so it cannot be shared."]


@time_machine.travel(NOW, tick=False)
def test_a_booking_whose_access_is_revoked_cannot_be_shared(site, tenant) -> None:
    booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
    booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
    assert errors(site, booking) == {
        "__all__": ["This booking's access is not active, so it cannot be shared."]
    }


@time_machine.travel(NOW, tick=False)
def test_a_share_asks_for_some_of_its_bookings_mapped_units_only(
    site, tenant, other_site, other_tenant
) -> None:
    booking = cast.book(tenant, site)
    cast.book(other_tenant, other_site)
    assert errors(site, booking, units=[]) == {"units": ["Choose at least one unit."]}
    assert errors(site, booking, units=[site.units[2]]) == {
        "units": ["These units have no access points mapped yet: A003."]
    }
    mixed = [site.units[0], other_site.units[1]]  # one of the booking's, one of another tenant's
    assert errors(site, booking, units=mixed) == {"units": ["Choose only units of this booking."]}
    with pytest.raises(ValidationError):
        share_create(
            actor=ACTOR,
            booking=booking,
            shared_by=tenant,
            request=ShareRequest(
                emails=["friend@example.com"],
                units=mixed,
                starts_on=dt.date(2026, 3, 5),
                ends_on=dt.date(2026, 3, 9),
            ),
        )
    assert not SharedAccess.objects.exists()
    assert not AccessGrant.objects.filter(unit=other_site.units[1], booking=booking).exists()


def test_the_share_limit_counts_the_shares_that_are_live_today(settings, site, tenant) -> None:
    settings.ACCESS_SHARES_PER_BOOKING = 2
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        cast.share(booking, "one@example.com", TODAY, dt.date(2026, 3, 3))
        assert errors(site, booking, emails=["two@example.com"]) == {}  # the second of two
        assert errors(site, booking, emails=["two@example.com", "three@example.com"]) == {
            "emails": ["A booking can have at most 2 active shares; it has 1."]
        }
    day_after = dt.date(2026, 3, 3)  # the first share's last day: it still counts
    assert errors(
        site, booking, today=day_after, starts_on=day_after, emails=["a@example.com", "b@example.com"]
    ) == {"emails": ["A booking can have at most 2 active shares; it has 1."]}
    later = dt.date(2026, 3, 4)
    assert (
        errors(site, booking, today=later, starts_on=later, emails=["a@example.com", "b@example.com"]) == {}
    )


# A share follows its booking.


def test_a_share_is_pulled_forward_when_its_booking_starts_later(settings, site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        site.set(access_provider="sensorberg")
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 4))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        move_start(booking, dt.date(2026, 3, 6))
    share.refresh_from_db()
    assert (share.state, share.starts_on, share.ends_on) == (
        ShareState.ACTIVE,
        dt.date(2026, 3, 6),
        dt.date(2026, 3, 9),
    )
    grant = AccessGrant.objects.get(share=share)
    assert (grant.state, grant.starts_at) == (GrantState.ACTIVE, dt.datetime(2026, 3, 5, 23, tzinfo=UTC))
    assert upserts(share) == ["superseded", "pending"]  # the provider gets the new window
    pin = share.holder.pin
    assert decide(site, pin, dt.datetime(2026, 3, 5, 22, 59, 59, tzinfo=UTC)) == (False, "outside_window")
    assert decide(site, pin, dt.datetime(2026, 3, 5, 23, tzinfo=UTC)) == (True, "ok")
    assert list(AccessEvent.objects.order_by("pk").values_list("allowed", "reason", "booking")) == [
        (False, "outside_window", booking.pk),
        (True, "ok", booking.pk),
    ]


def test_a_share_cut_short_with_its_booking_sends_its_new_window_to_the_provider(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        site.set(access_provider="sensorberg")
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 20))
        booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 10))
    share.refresh_from_db()
    assert (share.state, share.ends_on) == (ShareState.ACTIVE, dt.date(2026, 3, 10))
    grant = AccessGrant.objects.get(share=share)
    assert grant.ends_at == dt.datetime(2026, 3, 10, 23, tzinfo=UTC)
    assert upserts(share) == ["superseded", "pending"]
    assert grant.sync_state == "pending"
    pin = share.holder.pin
    assert decide(site, pin, dt.datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC)) == (True, "ok")
    assert decide(site, pin, dt.datetime(2026, 3, 10, 23, tzinfo=UTC)) == (False, "outside_window")


def test_a_share_sent_nothing_new_when_its_booking_changes_around_it(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        site.set(access_provider="sensorberg")
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 20))
    share.refresh_from_db()
    assert (share.state, share.starts_on, share.ends_on) == (
        ShareState.ACTIVE,
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 9),
    )
    assert upserts(share) == ["pending"]


def test_a_share_of_every_unit_of_its_booking_survives_a_resync(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        cast.book(tenant, site)
        neighbour = ContactFactory(email="neighbour@example.com")
        unit = UnitFactory(location=site.location, number="B001")
        UnitAccessPoint.objects.create(unit=unit, access_point=site.door)
        booking = booking_create(
            actor=ACTOR, customer=neighbour.customer, units=[unit], starts_on=dt.date(2026, 3, 1)
        )
        [share] = share_create(
            actor=ACTOR,
            booking=booking,
            shared_by=neighbour,
            request=ShareRequest(
                emails=["friend@example.com"], units=[unit], starts_on=TODAY, ends_on=dt.date(2026, 3, 9)
            ),
        )
        grants_sync_for_booking(actor=ACTOR, booking=booking)
    share.refresh_from_db()
    assert share.state == ShareState.ACTIVE
    assert decide(site, share.holder.pin, NOW) == (True, "ok")


@pytest.mark.parametrize(
    ("ends_on", "kept"),
    [(dt.date(2026, 3, 6), True), (dt.date(2026, 3, 5), False)],
)
def test_a_share_ending_on_its_bookings_new_first_day_is_kept_for_that_day(
    ends_on, kept, site, tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 4))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), ends_on)
        move_start(booking, dt.date(2026, 3, 6))
    share.refresh_from_db()
    grant = AccessGrant.objects.get(share=share)
    on_the_day = dt.datetime(2026, 3, 6, 9, tzinfo=UTC)
    if kept:
        assert (share.state, share.starts_on, share.ends_on) == (ShareState.ACTIVE, ends_on, ends_on)
        assert grant.state == GrantState.ACTIVE
        assert decide(site, share.holder.pin, on_the_day) == (True, "ok")
    else:  # it would end before the booking begins: revoked, never a window that runs backwards
        assert (share.state, share.starts_on, share.ends_on) == (
            ShareState.REVOKED,
            dt.date(2026, 3, 4),
            ends_on,
        )
        assert (grant.state, grant.revoked_reason) == (
            GrantState.REVOKED,
            "The booking no longer covers this share",
        )
        in_its_old_window = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)
        assert decide(site, share.holder.pin, in_its_old_window) == (False, "revoked")


@pytest.mark.parametrize(
    ("starts_on", "kept"),
    [(dt.date(2026, 3, 10), True), (dt.date(2026, 3, 11), False)],
)
def test_a_share_starting_on_its_bookings_new_last_day_is_kept_for_that_day(
    starts_on, kept, site, tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", starts_on, dt.date(2026, 3, 20))
        booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 10))
    share.refresh_from_db()
    grant = AccessGrant.objects.get(share=share)
    if kept:
        assert (share.state, share.starts_on, share.ends_on) == (ShareState.ACTIVE, starts_on, starts_on)
        assert grant.state == GrantState.ACTIVE
        assert decide(site, share.holder.pin, dt.datetime(2026, 3, 10, 9, tzinfo=UTC)) == (True, "ok")
    else:
        assert (share.state, grant.state) == (ShareState.REVOKED, GrantState.REVOKED)
        assert decide(site, share.holder.pin, dt.datetime(2026, 3, 10, 9, tzinfo=UTC)) == (False, "revoked")


# The sweep.


def test_the_sweep_ends_active_grants_only_and_leaves_a_revocation_as_it_is(
    site, tenant, other_site, other_tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, ends_on=dt.date(2026, 3, 5))
        share = cast.share(booking, "friend@example.com", TODAY, dt.date(2026, 3, 5))
        booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
        other_booking = cast.book(other_tenant, other_site, ends_on=dt.date(2026, 3, 5))
    revoked = list(AccessGrant.objects.filter(booking=booking).values_list("pk", "state", "revoked_reason"))
    assert {state for _, state, _ in revoked} == {GrantState.REVOKED}
    after = dt.datetime(2026, 3, 6, 9, tzinfo=UTC)
    assert grants_end_due(now=after) == 3  # the other booking's three grants
    assert (
        list(AccessGrant.objects.filter(booking=booking).values_list("pk", "state", "revoked_reason"))
        == revoked
    )
    assert set(AccessGrant.objects.filter(booking=other_booking).values_list("state", flat=True)) == {
        GrantState.ENDED
    }
    [entry] = AuditEntry.objects.filter(action="access.window_ended")
    assert entry.target_id == str(other_booking.pk) or entry.target_id == other_booking.pk
    assert sorted(entry.details["grants"]) == sorted(
        AccessGrant.objects.filter(booking=other_booking).values_list("pk", flat=True)
    )
    assert AccessGrant.objects.get(share=share).state == GrantState.REVOKED


@pytest.fixture
def ended_bookings(site, tenant, other_site, other_tenant) -> list[Booking]:
    """Two bookings that ended on 5 March, each of three units: the owner tenant's at the site and
    the other tenant's at the other site."""
    with time_machine.travel(NOW, tick=False):
        return [
            cast.book(tenant, site, ends_on=dt.date(2026, 3, 5)),
            cast.book(other_tenant, other_site, ends_on=dt.date(2026, 3, 5)),
        ]


AFTER = dt.datetime(2026, 3, 6, 9, tzinfo=UTC)


def test_the_sweep_ends_grants_for_their_window_and_audits_each_booking_under_its_site_and_tenant(
    ended_bookings,
) -> None:
    first, second = ended_bookings
    with time_machine.travel(AFTER, tick=False):
        assert grants_end_due() == 6
    assert set(
        AccessGrant.objects.values_list("state", "revoked_reason", "revoked_with_booking", "updated_at")
    ) == {(GrantState.ENDED, "The window ended", False, AFTER)}
    entries = AuditEntry.objects.filter(action="access.window_ended").order_by("pk")
    assert [
        (e.actor_kind, e.actor_label, e.target_id, e.location_id, e.customer_id, e.details["grants"])
        for e in entries
    ] == [
        (
            "system",
            "access sweep",
            booking.pk,
            booking.location_id,
            booking.customer_id,
            list(AccessGrant.objects.filter(booking=booking).order_by("pk").values_list("pk", flat=True)),
        )
        for booking in (first, second)
    ]


def test_the_end_of_one_booking_ends_that_bookings_grants_only(ended_bookings) -> None:
    first, second = ended_bookings
    assert grants_end_due(now=AFTER, booking=first) == 3
    assert set(AccessGrant.objects.filter(booking=first).values_list("state", flat=True)) == {
        GrantState.ENDED
    }
    assert set(AccessGrant.objects.filter(booking=second).values_list("state", flat=True)) == {
        GrantState.ACTIVE
    }


def test_a_backlog_is_ended_over_several_sweeps_each_taking_the_bookings_in_turn(
    monkeypatch, ended_bookings
) -> None:
    from keyport.access.services import grants

    first, second = ended_bookings
    with time_machine.travel(NOW, tick=False):  # the first booking's fourth grant, made last
        scene_share = cast.share(first, "friend@example.com", TODAY, dt.date(2026, 3, 5))
    monkeypatch.setattr(grants, "GRANTS_ENDED_PER_SWEEP", 4)
    assert grants_end_due(now=AFTER) == 4
    assert set(AccessGrant.objects.filter(state=GrantState.ENDED).values_list("booking", flat=True)) == {
        first.pk
    }
    assert AccessGrant.objects.get(share=scene_share).state == GrantState.ENDED
    assert grants_end_due(now=AFTER) == 3
    assert grants_end_due(now=AFTER) == 0
    assert list(
        AuditEntry.objects.filter(action="access.window_ended")
        .order_by("pk")
        .values_list("target_id", flat=True)
    ) == [first.pk, second.pk]


def test_a_new_time_zone_moves_a_shares_grants_to_its_local_days_and_the_sync_says_so(site, tenant) -> None:
    from keyport.access.location_settings import location_details_update

    with time_machine.travel(NOW, tick=False):
        site.set(access_provider="sensorberg")
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        location_details_update(actor=ACTOR, location=site.location, time_zone="America/New_York")
    share.refresh_from_db()
    assert (share.starts_on, share.ends_on) == (dt.date(2026, 3, 4), dt.date(2026, 3, 9))  # the same days
    grant = AccessGrant.objects.get(share=share)
    assert grant.starts_at == dt.datetime(2026, 3, 4, 5, tzinfo=UTC)
    assert upserts(share) == ["superseded", "pending"]
    synced = AuditEntry.objects.filter(action="access.booking_synced", target_id=booking.pk).latest("pk")
    assert synced.details["shares_changed"] == [share.pk]


def test_the_sweep_tells_the_provider_to_remove_the_grants_it_ended(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        site.set(access_provider="sensorberg")
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 5))
    assert grants_end_due(now=AFTER) == 3
    assert (
        sorted(
            SyncIntent.objects.filter(grant__booking=booking, status="pending").values_list(
                "operation", flat=True
            )
        )
        == ["delete"] * 3
    )


def test_a_long_revocation_reason_is_kept_on_the_grants_as_far_as_they_hold(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        booking_revoke_access(actor=ACTOR, booking=booking, reason="x" * 400)
    assert set(AccessGrant.objects.filter(booking=booking).values_list("revoked_reason", flat=True)) == {
        "x" * 300
    }


def test_a_share_revoked_when_its_booking_was_cut_short_does_not_come_back_when_it_is_extended(
    site, tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
        share = cast.share(booking, "friend@example.com", dt.date(2026, 3, 20), dt.date(2026, 3, 25))
        booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 10))
        booking_set_end_date(actor=ACTOR, booking=booking, ends_on=dt.date(2026, 3, 31))
    share.refresh_from_db()
    assert (share.state, share.revoked_with_booking) == (ShareState.REVOKED, False)
    assert AccessGrant.objects.get(share=share).state == GrantState.REVOKED
    assert decide(site, share.holder.pin, dt.datetime(2026, 3, 21, 9, tzinfo=UTC)) == (False, "revoked")


# The cascade: a share ended with its booking, or on its own.


def test_a_deleted_share_keeps_when_it_ended(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", TODAY, dt.date(2026, 3, 9))
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        deleted = share_delete(actor=ACTOR, share=share)
    share.refresh_from_db()
    assert (share.state, share.ended_at, deleted.ended_at) == (
        ShareState.DELETED,
        NOW + dt.timedelta(hours=2),
        NOW + dt.timedelta(hours=2),
    )


def test_an_inactive_account_pauses_its_guests_with_the_reason_and_they_come_back_with_it(
    site, tenant
) -> None:
    from keyport.frontdesk.services import customer_set_active

    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", TODAY, dt.date(2026, 3, 9))
        customer_set_active(actor=ACTOR, customer=tenant.customer, is_active=False)
    share.refresh_from_db()
    grant = AccessGrant.objects.get(share=share)
    assert (share.state, share.revoked_with_booking) == (ShareState.REVOKED, True)
    assert (grant.state, grant.revoked_reason, grant.revoked_with_booking) == (
        GrantState.REVOKED,
        "The booking's access is paused",
        True,
    )
    with time_machine.travel(NOW, tick=False):
        customer_set_active(actor=ACTOR, customer=tenant.customer, is_active=True)
    assert AccessGrant.objects.get(share=share).state == GrantState.ACTIVE
    assert decide(site, share.holder.pin, NOW) == (True, "ok")


def test_deleting_one_paused_share_leaves_another_bookings_paused_shares_to_come_back(
    site, tenant, other_site, other_tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        ours = cast.book(tenant, site)
        theirs = cast.book(other_tenant, other_site)
        deleted = cast.share(ours, "one@example.com", TODAY, dt.date(2026, 3, 9))
        kept = cast.share(theirs, "two@example.com", TODAY, dt.date(2026, 3, 9))
        for booking in (ours, theirs):
            booking_revoke_access(actor=ACTOR, booking=booking, reason="Overdue")
        share_delete(actor=ACTOR, share=deleted)
        booking_restore_access(actor=ACTOR, booking=theirs)
    assert AccessGrant.objects.get(share=kept).state == GrantState.ACTIVE
    assert decide(other_site, kept.holder.pin, NOW) == (True, "ok")


def test_a_share_deleted_after_the_sweep_ended_its_grant_leaves_the_grant_ended(site, tenant) -> None:
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site, starts_on=dt.date(2026, 3, 1))
        share = cast.share(booking, "friend@example.com", TODAY, dt.date(2026, 3, 5))
    assert grants_end_due(now=AFTER) == 1
    with time_machine.travel(AFTER, tick=False):
        share_delete(actor=ACTOR, share=share)
    grant = AccessGrant.objects.get(share=share)
    assert (grant.state, grant.revoked_reason) == (GrantState.ENDED, "The window ended")

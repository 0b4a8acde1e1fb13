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
from tests.access_scene import AccessScene, build_access_scene
from tests.factories import ContactFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
UTC = dt.UTC
TODAY = dt.date(2026, 3, 2)
NOW = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)


def errors(scene: AccessScene, *, today: dt.date = TODAY, **changes) -> dict[str, list[str]]:
    """What `share_validate` says of a request for one guest, A001, 5 to 9 March, changed by `changes`."""
    fields = {
        "emails": ["friend@example.com"],
        "units": scene.units[:1],
        "starts_on": dt.date(2026, 3, 5),
        "ends_on": dt.date(2026, 3, 9),
    } | changes
    try:
        share_validate(booking=scene.booking, request=ShareRequest(**fields), today=today)
    except ValidationError as error:
        return error.message_dict
    return {}


def decide(scene: AccessScene, pin: str, when: dt.datetime) -> tuple[bool, str]:
    decision = access_decide(door=Door.of(scene.door), pin=pin, channel="device", when=when)
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
def test_a_share_starts_no_earlier_than_today_and_its_booking() -> None:
    scene = build_access_scene(starts_on=dt.date(2026, 3, 10), ends_on=dt.date(2026, 3, 31))
    assert errors(scene, starts_on=dt.date(2026, 3, 9)) == {
        "starts_on": ["The start date cannot be before the booking starts (10 Mar 2026)."]
    }
    assert errors(scene, starts_on=dt.date(2026, 3, 10), ends_on=dt.date(2026, 3, 12)) == {}
    started = build_access_scene(starts_on=dt.date(2026, 2, 1), ends_on=None)
    assert errors(started, starts_on=dt.date(2026, 3, 1)) == {
        "starts_on": ["The start date cannot be in the past."]
    }
    assert errors(started, starts_on=TODAY) == {}


@time_machine.travel(NOW, tick=False)
def test_a_share_ends_no_earlier_than_it_starts_and_no_later_than_its_booking() -> None:
    scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
    assert errors(scene, ends_on=dt.date(2026, 3, 4)) == {
        "ends_on": ["The end date cannot be before the start date."]
    }
    assert errors(scene, ends_on=dt.date(2026, 3, 5)) == {}  # one day
    assert errors(scene, ends_on=dt.date(2026, 4, 1)) == {
        "ends_on": ["The end date cannot be after the booking ends (31 Mar 2026)."]
    }
    assert errors(scene, ends_on=dt.date(2026, 3, 31)) == {}


def test_a_booking_can_be_shared_up_to_its_last_day_and_not_after() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 9))
    with time_machine.travel(dt.datetime(2026, 3, 9, 12, tzinfo=UTC), tick=False):
        assert errors(scene, today=dt.date(2026, 3, 9), starts_on=dt.date(2026, 3, 9)) == {}
    with time_machine.travel(dt.datetime(2026, 3, 10, 12, tzinfo=UTC), tick=False):
        ended = errors(scene, today=dt.date(2026, 3, 10), starts_on=dt.date(2026, 3, 10))
    assert ended["__all__"] == ["This booking has ended, so it cannot be shared."]


@time_machine.travel(NOW, tick=False)
def test_a_booking_whose_access_is_revoked_cannot_be_shared() -> None:
    scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
    booking_revoke_access(actor=ACTOR, booking=scene.booking, reason="Overdue")
    assert errors(scene) == {"__all__": ["This booking's access is not active, so it cannot be shared."]}


@time_machine.travel(NOW, tick=False)
def test_a_share_asks_for_some_of_its_bookings_mapped_units_only() -> None:
    scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
    other = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
    assert errors(scene, units=[]) == {"units": ["Choose at least one unit."]}
    assert errors(scene, units=[scene.units[2]]) == {
        "units": ["These units have no access points mapped yet: A003."]
    }
    mixed = [scene.units[0], other.units[1]]  # one of the booking's, one of another tenant's
    assert errors(scene, units=mixed) == {"units": ["Choose only units of this booking."]}
    with pytest.raises(ValidationError):
        share_create(
            actor=ACTOR,
            booking=scene.booking,
            shared_by=scene.tenant,
            request=ShareRequest(
                emails=["friend@example.com"],
                units=mixed,
                starts_on=dt.date(2026, 3, 5),
                ends_on=dt.date(2026, 3, 9),
            ),
        )
    assert not SharedAccess.objects.exists()
    assert not AccessGrant.objects.filter(unit=other.units[1], booking=scene.booking).exists()


def test_the_share_limit_counts_the_shares_that_are_live_today(settings) -> None:
    settings.ACCESS_SHARES_PER_BOOKING = 2
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        scene.share("one@example.com", TODAY, dt.date(2026, 3, 3))
        assert errors(scene, emails=["two@example.com"]) == {}  # the second of two
        assert errors(scene, emails=["two@example.com", "three@example.com"]) == {
            "emails": ["A booking can have at most 2 active shares; it has 1."]
        }
    day_after = dt.date(2026, 3, 3)  # the first share's last day: it still counts
    assert errors(scene, today=day_after, starts_on=day_after, emails=["a@example.com", "b@example.com"]) == {
        "emails": ["A booking can have at most 2 active shares; it has 1."]
    }
    later = dt.date(2026, 3, 4)
    assert errors(scene, today=later, starts_on=later, emails=["a@example.com", "b@example.com"]) == {}


# A share follows its booking.


def test_a_share_is_pulled_forward_when_its_booking_starts_later(settings) -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 4), ends_on=None, provider="sensorberg")
        share = scene.share("friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        move_start(scene.booking, dt.date(2026, 3, 6))
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
    assert decide(scene, pin, dt.datetime(2026, 3, 5, 22, 59, 59, tzinfo=UTC)) == (False, "outside_window")
    assert decide(scene, pin, dt.datetime(2026, 3, 5, 23, tzinfo=UTC)) == (True, "ok")
    assert list(AccessEvent.objects.order_by("pk").values_list("allowed", "reason", "booking")) == [
        (False, "outside_window", scene.booking.pk),
        (True, "ok", scene.booking.pk),
    ]


def test_a_share_cut_short_with_its_booking_sends_its_new_window_to_the_provider() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None, provider="sensorberg")
        share = scene.share("friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 20))
        booking_set_end_date(actor=ACTOR, booking=scene.booking, ends_on=dt.date(2026, 3, 10))
    share.refresh_from_db()
    assert (share.state, share.ends_on) == (ShareState.ACTIVE, dt.date(2026, 3, 10))
    grant = AccessGrant.objects.get(share=share)
    assert grant.ends_at == dt.datetime(2026, 3, 10, 23, tzinfo=UTC)
    assert upserts(share) == ["superseded", "pending"]
    assert grant.sync_state == "pending"
    pin = share.holder.pin
    assert decide(scene, pin, dt.datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC)) == (True, "ok")
    assert decide(scene, pin, dt.datetime(2026, 3, 10, 23, tzinfo=UTC)) == (False, "outside_window")


def test_a_share_sent_nothing_new_when_its_booking_changes_around_it() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None, provider="sensorberg")
        share = scene.share("friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        booking_set_end_date(actor=ACTOR, booking=scene.booking, ends_on=dt.date(2026, 3, 20))
    share.refresh_from_db()
    assert (share.state, share.starts_on, share.ends_on) == (
        ShareState.ACTIVE,
        dt.date(2026, 3, 4),
        dt.date(2026, 3, 9),
    )
    assert upserts(share) == ["pending"]


def test_a_share_of_every_unit_of_its_booking_survives_a_resync() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        neighbour = ContactFactory(email="neighbour@example.com")
        unit = UnitFactory(location=scene.location, number="B001")
        UnitAccessPoint.objects.create(unit=unit, access_point=scene.door)
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
    assert decide(scene, share.holder.pin, NOW) == (True, "ok")


@pytest.mark.parametrize(
    ("ends_on", "kept"),
    [(dt.date(2026, 3, 6), True), (dt.date(2026, 3, 5), False)],
)
def test_a_share_ending_on_its_bookings_new_first_day_is_kept_for_that_day(ends_on, kept) -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 4), ends_on=None)
        share = scene.share("friend@example.com", dt.date(2026, 3, 4), ends_on)
        move_start(scene.booking, dt.date(2026, 3, 6))
    share.refresh_from_db()
    grant = AccessGrant.objects.get(share=share)
    on_the_day = dt.datetime(2026, 3, 6, 9, tzinfo=UTC)
    if kept:
        assert (share.state, share.starts_on, share.ends_on) == (ShareState.ACTIVE, ends_on, ends_on)
        assert grant.state == GrantState.ACTIVE
        assert decide(scene, share.holder.pin, on_the_day) == (True, "ok")
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
        assert decide(scene, share.holder.pin, in_its_old_window) == (False, "revoked")


@pytest.mark.parametrize(
    ("starts_on", "kept"),
    [(dt.date(2026, 3, 10), True), (dt.date(2026, 3, 11), False)],
)
def test_a_share_starting_on_its_bookings_new_last_day_is_kept_for_that_day(starts_on, kept) -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        share = scene.share("friend@example.com", starts_on, dt.date(2026, 3, 20))
        booking_set_end_date(actor=ACTOR, booking=scene.booking, ends_on=dt.date(2026, 3, 10))
    share.refresh_from_db()
    grant = AccessGrant.objects.get(share=share)
    if kept:
        assert (share.state, share.starts_on, share.ends_on) == (ShareState.ACTIVE, starts_on, starts_on)
        assert grant.state == GrantState.ACTIVE
        assert decide(scene, share.holder.pin, dt.datetime(2026, 3, 10, 9, tzinfo=UTC)) == (True, "ok")
    else:
        assert (share.state, grant.state) == (ShareState.REVOKED, GrantState.REVOKED)
        assert decide(scene, share.holder.pin, dt.datetime(2026, 3, 10, 9, tzinfo=UTC)) == (False, "revoked")


# The sweep.


def test_the_sweep_ends_active_grants_only_and_leaves_a_revocation_as_it_is() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 5))
        share = scene.share("friend@example.com", TODAY, dt.date(2026, 3, 5))
        booking_revoke_access(actor=ACTOR, booking=scene.booking, reason="Overdue")
        other = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 5))
    revoked = list(
        AccessGrant.objects.filter(booking=scene.booking).values_list("pk", "state", "revoked_reason")
    )
    assert {state for _, state, _ in revoked} == {GrantState.REVOKED}
    after = dt.datetime(2026, 3, 6, 9, tzinfo=UTC)
    assert grants_end_due(now=after) == 3  # the other booking's three grants
    assert (
        list(AccessGrant.objects.filter(booking=scene.booking).values_list("pk", "state", "revoked_reason"))
        == revoked
    )
    assert set(AccessGrant.objects.filter(booking=other.booking).values_list("state", flat=True)) == {
        GrantState.ENDED
    }
    [entry] = AuditEntry.objects.filter(action="access.window_ended")
    assert entry.target_id == str(other.booking.pk) or entry.target_id == other.booking.pk
    assert sorted(entry.details["grants"]) == sorted(
        AccessGrant.objects.filter(booking=other.booking).values_list("pk", flat=True)
    )
    assert AccessGrant.objects.get(share=share).state == GrantState.REVOKED


def ended_scenes(count: int) -> list[AccessScene]:
    """Bookings that ended on 5 March, each of three units for its tenant."""
    with time_machine.travel(NOW, tick=False):
        return [
            build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 5))
            for _ in range(count)
        ]


AFTER = dt.datetime(2026, 3, 6, 9, tzinfo=UTC)


def test_the_sweep_ends_grants_for_their_window_and_audits_each_booking_under_its_site_and_tenant() -> None:
    first, second = ended_scenes(2)
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
            scene.booking.pk,
            scene.location.pk,
            scene.booking.customer_id,
            list(
                AccessGrant.objects.filter(booking=scene.booking).order_by("pk").values_list("pk", flat=True)
            ),
        )
        for scene in (first, second)
    ]


def test_the_end_of_one_booking_ends_that_bookings_grants_only() -> None:
    first, second = ended_scenes(2)
    assert grants_end_due(now=AFTER, booking=first.booking) == 3
    assert set(AccessGrant.objects.filter(booking=first.booking).values_list("state", flat=True)) == {
        GrantState.ENDED
    }
    assert set(AccessGrant.objects.filter(booking=second.booking).values_list("state", flat=True)) == {
        GrantState.ACTIVE
    }


def test_a_backlog_is_ended_over_several_sweeps_each_taking_the_bookings_in_turn(monkeypatch) -> None:
    from keyport.access.services import grants

    first, second = ended_scenes(2)
    with time_machine.travel(NOW, tick=False):  # the first booking's fourth grant, made last
        scene_share = first.share("friend@example.com", TODAY, dt.date(2026, 3, 5))
    monkeypatch.setattr(grants, "GRANTS_ENDED_PER_SWEEP", 4)
    assert grants_end_due(now=AFTER) == 4
    assert set(AccessGrant.objects.filter(state=GrantState.ENDED).values_list("booking", flat=True)) == {
        first.booking.pk
    }
    assert AccessGrant.objects.get(share=scene_share).state == GrantState.ENDED
    assert grants_end_due(now=AFTER) == 3
    assert grants_end_due(now=AFTER) == 0
    assert list(
        AuditEntry.objects.filter(action="access.window_ended")
        .order_by("pk")
        .values_list("target_id", flat=True)
    ) == [first.booking.pk, second.booking.pk]


def test_a_new_time_zone_moves_a_shares_grants_to_its_local_days_and_the_sync_says_so() -> None:
    from keyport.access.location_settings import location_details_update

    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None, provider="sensorberg")
        share = scene.share("friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        location_details_update(actor=ACTOR, location=scene.location, time_zone="America/New_York")
    share.refresh_from_db()
    assert (share.starts_on, share.ends_on) == (dt.date(2026, 3, 4), dt.date(2026, 3, 9))  # the same days
    grant = AccessGrant.objects.get(share=share)
    assert grant.starts_at == dt.datetime(2026, 3, 4, 5, tzinfo=UTC)
    assert upserts(share) == ["superseded", "pending"]
    synced = AuditEntry.objects.filter(action="access.booking_synced", target_id=scene.booking.pk).latest(
        "pk"
    )
    assert synced.details["shares_changed"] == [share.pk]


def test_the_sweep_tells_the_provider_to_remove_the_grants_it_ended() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(
            starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 5), provider="sensorberg"
        )
    assert grants_end_due(now=AFTER) == 3
    assert (
        sorted(
            SyncIntent.objects.filter(grant__booking=scene.booking, status="pending").values_list(
                "operation", flat=True
            )
        )
        == ["delete"] * 3
    )


def test_a_long_revocation_reason_is_kept_on_the_grants_as_far_as_they_hold() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        booking_revoke_access(actor=ACTOR, booking=scene.booking, reason="x" * 400)
    assert set(
        AccessGrant.objects.filter(booking=scene.booking).values_list("revoked_reason", flat=True)
    ) == {"x" * 300}


def test_a_share_revoked_when_its_booking_was_cut_short_does_not_come_back_when_it_is_extended() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=dt.date(2026, 3, 31))
        share = scene.share("friend@example.com", dt.date(2026, 3, 20), dt.date(2026, 3, 25))
        booking_set_end_date(actor=ACTOR, booking=scene.booking, ends_on=dt.date(2026, 3, 10))
        booking_set_end_date(actor=ACTOR, booking=scene.booking, ends_on=dt.date(2026, 3, 31))
    share.refresh_from_db()
    assert (share.state, share.revoked_with_booking) == (ShareState.REVOKED, False)
    assert AccessGrant.objects.get(share=share).state == GrantState.REVOKED
    assert decide(scene, share.holder.pin, dt.datetime(2026, 3, 21, 9, tzinfo=UTC)) == (False, "revoked")


# The cascade: a share ended with its booking, or on its own.


def test_a_deleted_share_keeps_when_it_ended() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        share = scene.share("friend@example.com", TODAY, dt.date(2026, 3, 9))
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        deleted = share_delete(actor=ACTOR, share=share)
    share.refresh_from_db()
    assert (share.state, share.ended_at, deleted.ended_at) == (
        ShareState.DELETED,
        NOW + dt.timedelta(hours=2),
        NOW + dt.timedelta(hours=2),
    )


def test_an_inactive_account_pauses_its_guests_with_the_reason_and_they_come_back_with_it() -> None:
    from keyport.frontdesk.services import customer_set_active

    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        share = scene.share("friend@example.com", TODAY, dt.date(2026, 3, 9))
        customer_set_active(actor=ACTOR, customer=scene.tenant.customer, is_active=False)
    share.refresh_from_db()
    grant = AccessGrant.objects.get(share=share)
    assert (share.state, share.revoked_with_booking) == (ShareState.REVOKED, True)
    assert (grant.state, grant.revoked_reason, grant.revoked_with_booking) == (
        GrantState.REVOKED,
        "The booking's access is paused",
        True,
    )
    with time_machine.travel(NOW, tick=False):
        customer_set_active(actor=ACTOR, customer=scene.tenant.customer, is_active=True)
    assert AccessGrant.objects.get(share=share).state == GrantState.ACTIVE
    assert decide(scene, share.holder.pin, NOW) == (True, "ok")


def test_deleting_one_paused_share_leaves_another_bookings_paused_shares_to_come_back() -> None:
    with time_machine.travel(NOW, tick=False):
        ours = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        theirs = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        deleted = ours.share("one@example.com", TODAY, dt.date(2026, 3, 9))
        kept = theirs.share("two@example.com", TODAY, dt.date(2026, 3, 9))
        for scene in (ours, theirs):
            booking_revoke_access(actor=ACTOR, booking=scene.booking, reason="Overdue")
        share_delete(actor=ACTOR, share=deleted)
        booking_restore_access(actor=ACTOR, booking=theirs.booking)
    assert AccessGrant.objects.get(share=kept).state == GrantState.ACTIVE
    assert decide(theirs, kept.holder.pin, NOW) == (True, "ok")


def test_a_share_deleted_after_the_sweep_ended_its_grant_leaves_the_grant_ended() -> None:
    with time_machine.travel(NOW, tick=False):
        scene = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
        share = scene.share("friend@example.com", TODAY, dt.date(2026, 3, 5))
    assert grants_end_due(now=AFTER) == 1
    with time_machine.travel(AFTER, tick=False):
        share_delete(actor=ACTOR, share=share)
    grant = AccessGrant.objects.get(share=share)
    assert (grant.state, grant.revoked_reason) == (GrantState.ENDED, "The window ended")

"""Every rule of the door decision fails a test when broken: the answer (`allowed` and its reason),
the event row written for it, and what the wrong-PIN throttle does, asked through the door API,
the guest key page and `access_decide`."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.core import mail

from keyport.access.doors import Door
from keyport.access.models import AccessEvent, AccessHolder, SharedAccess
from keyport.access.services import ShareRequest, access_decide, device_key_issue, share_create, share_delete
from keyport.audit.services import Actor
from keyport.bookings.services import booking_create
from keyport.facilities.models import AccessPoint, OpeningHours, UnitAccessPoint
from tests.access_scene import AccessScene, build_access_scene
from tests.factories import ContactFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)  # a Wednesday, 10:00 in Berlin
KEY = re.compile(r"/key/(?P<key>[A-Za-z0-9_-]+)/")


@pytest.fixture
def scene() -> AccessScene:
    with time_machine.travel(NOW, tick=False):
        return build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)


def check(client, key, pin, access_point=None):  # type: ignore[no-untyped-def]
    body = {"access_point": access_point or AccessPoint.objects.get(device_key__isnull=False).external_id}
    response = client.post(
        "/api/v1/access/check",
        json.dumps({**body, "pin": pin}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    return response.json()


def nobodys_pin() -> str:
    held = set(AccessHolder.objects.values_list("pin", flat=True))
    return next(pin for pin in ("111111", "222222", "333333") if pin not in held)


def events() -> list[tuple[bool, str, int | None, int | None]]:
    """The event rows, oldest first: allowed, reason, holder, booking."""
    return list(AccessEvent.objects.order_by("pk").values_list("allowed", "reason", "holder", "booking"))


def neighbour_share(scene: AccessScene, email: str, starts_on: dt.date, ends_on: dt.date) -> SharedAccess:
    """Another tenant at the same site, whose unit the main door also serves, shares it with `email`."""
    other = ContactFactory(email=f"neighbour-{email}")
    unit = UnitFactory(location=scene.location, number="B001")
    UnitAccessPoint.objects.create(unit=unit, access_point=scene.door)
    booking = booking_create(
        actor=ACTOR, customer=other.customer, units=[unit], starts_on=dt.date(2026, 3, 1)
    )
    return share_create(
        actor=ACTOR,
        booking=booking,
        shared_by=other,
        request=ShareRequest(emails=[email], units=[unit], starts_on=starts_on, ends_on=ends_on),
    )[0]


# The wrong-PIN throttle.


def test_a_blocked_door_does_not_open_for_the_right_pin(client, scene, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ACCESS_PIN_SLOW_AFTER = 50
    settings.ACCESS_PIN_BLOCK_AFTER = 3
    settings.ACCESS_PIN_BLOCK_SECONDS = 600
    key = device_key_issue(actor=ACTOR, access_point=scene.door)
    holder = scene.tenant_holder()
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(3):
            assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"
        AccessEvent.objects.all().delete()
        answer = check(client, key, holder.pin)
        assert answer["allowed"] is False and answer["reason"] == "blocked"
        assert 600 <= answer["retry_after"] <= 601
        assert events() == [(False, "blocked", holder.pk, None)]
        clock.shift(dt.timedelta(seconds=599))  # the block lasts its whole length
        answer = check(client, key, holder.pin)
        assert (answer["allowed"], answer["reason"]) == (False, "blocked")
        assert 1 <= answer["retry_after"] <= 2
        clock.shift(dt.timedelta(seconds=1))
        assert check(client, key, holder.pin) == {"allowed": True, "reason": "ok"}
    assert events()[-1] == (True, "ok", holder.pk, scene.booking.pk)


def test_a_slowed_door_does_not_open_before_its_wait_and_logs_the_try_as_refused(
    client, scene, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_BLOCK_AFTER = 50
    key = device_key_issue(actor=ACTOR, access_point=scene.door)
    holder = scene.tenant_holder()
    with time_machine.travel(NOW, tick=False) as clock:
        assert [check(client, key, nobodys_pin())["reason"] for _ in range(2)] == ["unknown_pin"] * 2
        AccessEvent.objects.all().delete()
        answer = check(client, key, holder.pin)
        assert (answer["allowed"], answer["reason"]) == (False, "slow_down")
        assert 1 <= answer["retry_after"] <= 2  # two wrong PINs: one second's wait
        assert events() == [(False, "slow_down", holder.pk, None)]
        clock.shift(dt.timedelta(seconds=answer["retry_after"]))
        assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"  # the third
        answer = check(client, key, holder.pin)
        assert (answer["allowed"], answer["reason"]) == (False, "slow_down")
        assert 2 <= answer["retry_after"] <= 3  # each wrong PIN doubles the wait
        clock.shift(dt.timedelta(seconds=1))
        assert check(client, key, holder.pin)["reason"] == "slow_down"
        clock.shift(dt.timedelta(seconds=1))
        assert check(client, key, holder.pin) == {"allowed": True, "reason": "ok"}
    assert AccessPoint.objects.get(pk=scene.door.pk).wrong_pins == 3  # the refused tries count nothing


def test_wrong_pins_count_for_their_whole_window(client, scene, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS = 300
    key = device_key_issue(actor=ACTOR, access_point=scene.door)
    with time_machine.travel(NOW, tick=False) as clock:
        check(client, key, nobodys_pin())
        check(client, key, nobodys_pin())
        clock.shift(dt.timedelta(seconds=299))
        # The wait has passed, but both wrong PINs still count: the next one makes three.
        assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"
        assert check(client, key, nobodys_pin())["reason"] == "slow_down"
    assert AccessPoint.objects.get(pk=scene.door.pk).wrong_pins == 3


def test_an_unknown_pin_is_refused_counted_and_logged_as_unknown(client, scene) -> None:  # type: ignore[no-untyped-def]
    key = device_key_issue(actor=ACTOR, access_point=scene.door)
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, nobodys_pin()) == {"allowed": False, "reason": "unknown_pin"}
    assert events() == [(False, "unknown_pin", None, None)]
    door = AccessPoint.objects.get(pk=scene.door.pk)
    assert (door.wrong_pins, door.last_wrong_pin_at) == (1, NOW)


def test_a_pin_of_another_location_is_an_unknown_pin_there(client, scene) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        elsewhere = build_access_scene(starts_on=dt.date(2026, 3, 1), ends_on=None)
    pin = elsewhere.tenant_holder().pin
    AccessHolder.objects.filter(location=scene.location, pin=pin).update(pin=nobodys_pin())
    # The other site's door serves a unit of this site too: only the location tells them apart.
    UnitAccessPoint.objects.create(unit=elsewhere.units[0], access_point=scene.door)
    key = device_key_issue(actor=ACTOR, access_point=scene.door)
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, pin) == {"allowed": False, "reason": "unknown_pin"}
        decision = access_decide(door=Door.of(scene.door), pin=pin, channel="portal", when=NOW)
    assert (decision.allowed, decision.reason) == (False, "unknown_pin")
    assert events() == [(False, "unknown_pin", None, None)] * 2
    assert AccessPoint.objects.get(pk=scene.door.pk).wrong_pins == 2


# The holder's grants at the door.


def test_a_closed_location_does_not_open_for_a_current_grant(client, scene) -> None:  # type: ignore[no-untyped-def]
    OpeningHours.objects.create(location=scene.location, weekday=2, opens_at=dt.time(6), closes_at=dt.time(8))
    key = device_key_issue(actor=ACTOR, access_point=scene.door)
    holder = scene.tenant_holder()
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, holder.pin) == {"allowed": False, "reason": "location_closed"}
    assert events() == [(False, "location_closed", holder.pk, scene.booking.pk)]
    with time_machine.travel(dt.datetime(2026, 3, 4, 6, 30, tzinfo=UTC), tick=False):  # 07:30 in Berlin
        assert check(client, key, holder.pin) == {"allowed": True, "reason": "ok"}
    assert AccessPoint.objects.get(pk=scene.door.pk).wrong_pins == 0


def test_a_pin_at_a_door_that_serves_none_of_its_units_is_not_mapped(client, scene) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        share = scene.share("friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9), [scene.units[1]])
    key = device_key_issue(actor=ACTOR, access_point=scene.unit_lock)
    with time_machine.travel(NOW, tick=False):
        answer = check(client, key, share.holder.pin, scene.unit_lock.external_id)
    assert answer == {"allowed": False, "reason": "not_mapped"}
    assert events() == [(False, "not_mapped", share.holder.pk, None)]
    assert AccessPoint.objects.get(pk=scene.unit_lock.pk).wrong_pins == 0  # a real PIN: not counted


def test_where_several_grants_decide_the_event_is_filed_under_the_one_the_reason_comes_from(scene) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        ours = scene.share("friend@example.com", dt.date(2026, 3, 20), dt.date(2026, 3, 22))
        theirs = neighbour_share(scene, "friend@example.com", dt.date(2026, 3, 10), dt.date(2026, 3, 21))
    door = Door.of(scene.door)

    def decide(when: dt.datetime) -> tuple[bool, str]:
        decision = access_decide(door=door, pin=ours.holder.pin, channel="device", when=when)
        return decision.allowed, decision.reason

    holder = ours.holder.pk
    assert decide(NOW) == (False, "outside_window")  # both upcoming: the older grant
    assert decide(dt.datetime(2026, 3, 11, 9, tzinfo=UTC)) == (True, "ok")  # theirs alone
    assert decide(dt.datetime(2026, 3, 21, 9, tzinfo=UTC)) == (True, "ok")  # both open: the older
    with time_machine.travel(NOW, tick=False):
        share_delete(actor=ACTOR, share=ours)
        share_delete(actor=ACTOR, share=theirs)
    assert decide(NOW) == (False, "revoked")  # both revoked: the newer
    assert decide(dt.datetime(2026, 4, 1, tzinfo=UTC)) == (False, "outside_window")  # both over: the newer
    assert events() == [
        (False, "outside_window", holder, scene.booking.pk),
        (True, "ok", holder, theirs.booking_id),
        (True, "ok", holder, scene.booking.pk),
        (False, "revoked", holder, theirs.booking_id),
        (False, "outside_window", holder, theirs.booking_id),
    ]


# The guest key page.


@pytest.fixture
def guest_of_two(scene, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """One guest with a share of the scene's booking and a current share of a neighbour's, both
    through the main door: the guest's one holder at the site holds grants of both."""
    with (
        time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ours = scene.share("friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        theirs = neighbour_share(scene, "friend@example.com", dt.date(2026, 3, 2), dt.date(2026, 3, 31))
    assert ours.holder_id == theirs.holder_id
    links = [KEY.search(m.body)["key"] for m in mail.outbox]  # type: ignore[index]
    return ours, theirs, links[0]


def test_a_deleted_shares_link_does_not_open_through_the_guests_other_share(
    client, scene, guest_of_two
) -> None:  # type: ignore[no-untyped-def]
    ours, theirs, link = guest_of_two
    with time_machine.travel(NOW, tick=False):
        share_delete(actor=ACTOR, share=ours)
        response = client.post(f"/key/{link}/open/{scene.door.pk}/", follow=True)
    decision = response.context["decision"]
    assert (decision.allowed, decision.reason) == (False, "revoked")
    assert events() == [(False, "revoked", ours.holder_id, scene.booking.pk)]
    assert "withdrawn" in response.content.decode()


def test_an_ended_shares_link_does_not_open_through_the_guests_other_share(
    client, scene, guest_of_two
) -> None:  # type: ignore[no-untyped-def]
    ours, theirs, link = guest_of_two
    from keyport.access.services import grants_end_due

    after = dt.datetime(2026, 3, 10, 9, tzinfo=UTC)
    with time_machine.travel(after, tick=False):
        response = client.post(f"/key/{link}/open/{scene.door.pk}/", follow=True)
        grants_end_due()
        swept = client.post(f"/key/{link}/open/{scene.door.pk}/", follow=True)
    for answer in (response, swept):
        decision = answer.context["decision"]
        assert (decision.allowed, decision.reason) == (False, "outside_window")
    assert events() == [(False, "outside_window", ours.holder_id, scene.booking.pk)] * 2


def test_an_upcoming_shares_link_does_not_open_through_the_guests_other_share(
    client, scene, guest_of_two
) -> None:  # type: ignore[no-untyped-def]
    ours, theirs, link = guest_of_two
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, tzinfo=UTC), tick=False):
        response = client.post(f"/key/{link}/open/{scene.door.pk}/", follow=True)
    decision = response.context["decision"]
    assert (decision.allowed, decision.reason) == (False, "outside_window")
    assert events() == [(False, "outside_window", ours.holder_id, scene.booking.pk)]


def test_a_current_shares_link_opens_and_is_logged_under_its_own_booking(client, scene, guest_of_two) -> None:  # type: ignore[no-untyped-def]
    ours, theirs, link = guest_of_two
    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/key/{link}/open/{scene.door.pk}/", follow=True)
    assert response.context["decision"].allowed is True
    [event] = AccessEvent.objects.all()
    assert (event.allowed, event.reason, event.channel, event.booking_id, event.unit_id) == (
        True,
        "ok",
        "guest",
        scene.booking.pk,
        scene.units[0].pk,
    )

"""Every rule of the door decision fails a test when broken: the answer (`allowed` and its reason),
the event row written for it, and what the wrong-PIN throttle does, asked through the door API,
the guest key page and `access_decide`."""

import datetime as dt
import json
import re

import pytest
import time_machine
from django.core import mail

from keyport.access.models import AccessEvent, AccessHolder, SharedAccess
from keyport.access.services import (
    Decision,
    ShareRequest,
    access_decide,
    access_judge,
    device_key_issue,
    share_create,
    share_delete,
)
from keyport.access.services.doors import Door, GrantAtDoor
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.facilities.models import AccessPoint, OpeningHours, OpeningPeriod, UnitAccessPoint
from keyport.frontdesk.services import booking_create
from tests import cast
from tests.factories import ContactFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
UTC = dt.UTC
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=UTC)  # a Wednesday, 10:00 in Berlin
KEY = re.compile(r"/key/(?P<key>[A-Za-z0-9_-]+)/")


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


def check(client, key, pin, access_point=None):
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


def neighbour_share(site, email: str, starts_on: dt.date, ends_on: dt.date) -> SharedAccess:
    """Another tenant at the same site, whose unit the main door also serves, shares it with `email`."""
    other = ContactFactory(email=f"neighbour-{email}")
    unit = UnitFactory(location=site.location, number="B001")
    UnitAccessPoint.objects.create(unit=unit, access_point=site.door)
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


def test_a_blocked_door_does_not_open_for_the_right_pin(client, site, tenant, booking, settings) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 50
    settings.ACCESS_PIN_BLOCK_AFTER = 3
    settings.ACCESS_PIN_BLOCK_SECONDS = 600
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    holder = site.holder(tenant)
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
    assert events()[-1] == (True, "ok", holder.pk, booking.pk)


def test_a_slowed_door_does_not_open_before_its_wait_and_logs_the_try_as_refused(
    client, site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_BLOCK_AFTER = 50
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    holder = site.holder(tenant)
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
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 3  # the refused tries count nothing


def test_wrong_pins_count_for_their_whole_window(client, site, booking, settings) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS = 300
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    with time_machine.travel(NOW, tick=False) as clock:
        check(client, key, nobodys_pin())
        check(client, key, nobodys_pin())
        clock.shift(dt.timedelta(seconds=299))
        # The wait has passed, but both wrong PINs still count: the next one makes three.
        assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"
        assert check(client, key, nobodys_pin())["reason"] == "slow_down"
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 3


def test_an_unknown_pin_is_refused_counted_and_logged_as_unknown(client, site, booking) -> None:
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, nobodys_pin()) == {"allowed": False, "reason": "unknown_pin"}
    assert events() == [(False, "unknown_pin", None, None)]
    door = AccessPoint.objects.get(pk=site.door.pk)
    assert (door.wrong_pins, door.last_wrong_pin_at) == (1, NOW)


def test_a_pin_of_another_location_is_an_unknown_pin_there(
    client, site, booking, other_site, other_tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        cast.book(other_tenant, other_site)
    pin = other_site.holder(other_tenant).pin
    AccessHolder.objects.filter(location=site.location, pin=pin).update(pin=nobodys_pin())
    # The other site's door serves a unit of this site too: only the location tells them apart.
    UnitAccessPoint.objects.create(unit=other_site.units[0], access_point=site.door)
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, pin) == {"allowed": False, "reason": "unknown_pin"}
        decision = access_decide(door=Door.of(site.door), pin=pin, channel="portal", when=NOW)
    assert (decision.allowed, decision.reason) == (False, "unknown_pin")
    assert events() == [(False, "unknown_pin", None, None)] * 2
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 2


def fresh_door(site) -> Door:
    """The main door as a check reads it now, wrong-PIN counts and all."""
    return Door.of(AccessPoint.objects.select_related("location").get(pk=site.door.pk))


def test_the_first_wrong_pin_starts_the_count_and_the_one_that_blocks_is_audited_and_logged_once(
    client, site, booking, settings, caplog
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_BLOCK_AFTER = 3
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    with time_machine.travel(NOW, tick=False) as clock:
        assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"
        clock.shift(dt.timedelta(seconds=1))
        assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"
        clock.shift(dt.timedelta(seconds=1))
        assert check(client, key, nobodys_pin())["reason"] == "unknown_pin"  # the third: blocked now
        assert check(client, key, nobodys_pin())["reason"] == "blocked"
    door = AccessPoint.objects.get(pk=site.door.pk)
    assert (door.wrong_pins, door.wrong_pins_since, door.last_wrong_pin_at) == (
        3,
        NOW,
        NOW + dt.timedelta(seconds=2),
    )
    assert door.pins_blocked_until == NOW + dt.timedelta(seconds=2 + settings.ACCESS_PIN_BLOCK_SECONDS)
    [entry] = AuditEntry.objects.filter(action="access.pin_block_started")
    assert (entry.target_id, entry.details["wrong_pins"]) == (site.door.pk, 3)
    assert [r.getMessage() for r in caplog.records if r.name == "keyport.access.services.decisions"] == [
        f"Access point {site.door.pk}: 2 wrong PINs; slowing down",
        f"Access point {site.door.pk} blocked after 3 wrong PINs",
    ]


def test_wrong_pins_stop_counting_the_instant_their_window_has_passed(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_BLOCK_AFTER = 50
    settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS = 300
    wrong = nobodys_pin()
    for _ in range(2):
        access_decide(door=fresh_door(site), pin=wrong, channel="device", when=NOW)
    later = NOW + dt.timedelta(seconds=300)
    right = access_decide(door=fresh_door(site), pin=site.holder(tenant).pin, channel="device", when=later)
    assert (right.allowed, right.reason) == (True, "ok")
    assert (
        access_decide(door=fresh_door(site), pin=wrong, channel="device", when=later).reason == "unknown_pin"
    )
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 1  # counted from one again


def test_a_block_that_has_run_out_forgets_its_wrong_pins_the_instant_it_ends(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_BLOCK_AFTER = 3
    settings.ACCESS_PIN_BLOCK_SECONDS = 1
    settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS = 900
    wrong = nobodys_pin()
    # Two at once, the third a second later (the slow-down's wait): blocked for one second.
    reasons = [
        access_decide(
            door=fresh_door(site), pin=wrong, channel="device", when=NOW + dt.timedelta(seconds=s)
        ).reason
        for s in (0, 0, 1)
    ]
    assert reasons == ["unknown_pin"] * 3
    ended = NOW + dt.timedelta(seconds=2)  # the block's end; the slow-down's wait would run a second more
    right = access_decide(door=fresh_door(site), pin=site.holder(tenant).pin, channel="device", when=ended)
    assert (right.allowed, right.reason) == (True, "ok")
    assert (
        access_decide(door=fresh_door(site), pin=wrong, channel="device", when=ended).reason == "unknown_pin"
    )
    door = AccessPoint.objects.get(pk=site.door.pk)
    assert (door.wrong_pins, door.pins_blocked_until) == (1, None)


# A PIN read before a wrong PIN was counted: judged again by the counts as they are now.


def test_a_right_pin_read_before_a_wrong_pin_was_counted_is_judged_again_and_opens(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 50
    OpeningHours.objects.create(location=site.location, weekday=2, opens_at=dt.time(6), closes_at=dt.time(20))
    read_before = fresh_door(site)
    access_decide(door=fresh_door(site), pin=nobodys_pin(), channel="device", when=NOW)
    holder = site.holder(tenant)
    decision = access_decide(door=read_before, pin=holder.pin, channel="device", when=NOW)
    assert (decision.allowed, decision.reason) == (True, "ok")
    assert list(
        AccessEvent.objects.order_by("pk").values_list(
            "allowed", "reason", "holder", "booking", "unit", "channel"
        )
    ) == [
        (False, "unknown_pin", None, None, None, "device"),
        (True, "ok", holder.pk, booking.pk, site.units[0].pk, "device"),
    ]


def test_a_right_pin_read_before_a_wrong_pin_blocked_the_door_is_refused_as_blocked(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 50
    settings.ACCESS_PIN_BLOCK_AFTER = 1
    read_before = fresh_door(site)
    access_decide(door=fresh_door(site), pin=nobodys_pin(), channel="device", when=NOW)
    holder = site.holder(tenant)
    decision = access_decide(door=read_before, pin=holder.pin, channel="device", when=NOW)
    assert decision == Decision(False, "blocked", retry_after=settings.ACCESS_PIN_BLOCK_SECONDS + 1)
    assert events() == [(False, "unknown_pin", None, None), (False, "blocked", holder.pk, None)]


def test_a_wrong_pin_read_before_others_slowed_the_door_is_slowed_and_not_counted(
    site, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    settings.ACCESS_PIN_BLOCK_AFTER = 50
    read_before = fresh_door(site)
    wrong = nobodys_pin()
    for _ in range(2):
        access_decide(door=fresh_door(site), pin=wrong, channel="device", when=NOW)
    decision = access_decide(door=read_before, pin=wrong, channel="device", when=NOW)
    assert decision == Decision(False, "slow_down", retry_after=2)
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 2
    assert events()[-1] == (False, "slow_down", None, None)


# The holder's grants at the door.


def test_a_closed_location_does_not_open_for_a_current_grant(client, site, tenant, booking) -> None:
    OpeningHours.objects.create(location=site.location, weekday=2, opens_at=dt.time(6), closes_at=dt.time(8))
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    holder = site.holder(tenant)
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, holder.pin) == {"allowed": False, "reason": "location_closed"}
    assert events() == [(False, "location_closed", holder.pk, booking.pk)]
    with time_machine.travel(dt.datetime(2026, 3, 4, 6, 30, tzinfo=UTC), tick=False):  # 07:30 in Berlin
        assert check(client, key, holder.pin) == {"allowed": True, "reason": "ok"}
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 0


def test_a_pin_at_a_door_that_serves_none_of_its_units_is_not_mapped(client, booking, site) -> None:
    with time_machine.travel(NOW, tick=False):
        share = cast.share(
            booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9), [site.units[1]]
        )
    key = device_key_issue(actor=ACTOR, access_point=site.unit_lock)
    with time_machine.travel(NOW, tick=False):
        answer = check(client, key, share.holder.pin, site.unit_lock.external_id)
    assert answer == {"allowed": False, "reason": "not_mapped"}
    assert events() == [(False, "not_mapped", share.holder.pk, None)]
    assert AccessPoint.objects.get(pk=site.unit_lock.pk).wrong_pins == 0  # a real PIN: not counted


def test_where_several_grants_decide_the_event_is_filed_under_the_one_the_reason_comes_from(
    booking, site
) -> None:
    with time_machine.travel(NOW, tick=False):
        ours = cast.share(booking, "friend@example.com", dt.date(2026, 3, 20), dt.date(2026, 3, 22))
        theirs = neighbour_share(site, "friend@example.com", dt.date(2026, 3, 10), dt.date(2026, 3, 21))
    door = Door.of(site.door)

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
        (False, "outside_window", holder, booking.pk),
        (True, "ok", holder, theirs.booking_id),
        (True, "ok", holder, booking.pk),
        (False, "revoked", holder, theirs.booking_id),
        (False, "outside_window", holder, theirs.booking_id),
    ]


def test_the_oldest_grant_decides_even_when_its_unit_is_the_newer_one(booking, site) -> None:
    with time_machine.travel(NOW, tick=False):
        # The neighbour's share comes first, on a unit made after the site's: grant and unit
        # order disagree, and the older grant must win.
        theirs = neighbour_share(site, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        ours = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
    assert theirs.grants.get().unit_id > ours.grants.get().unit_id
    decision = access_decide(door=Door.of(site.door), pin=ours.holder.pin, channel="device", when=NOW)
    assert (decision.allowed, decision.reason) == (True, "ok")
    assert events() == [(True, "ok", ours.holder_id, theirs.booking_id)]


def test_a_signed_in_holder_is_judged_at_the_instant_asked_so_a_closed_location_stays_shut(
    site, tenant, booking
) -> None:
    OpeningHours.objects.create(location=site.location, weekday=2, opens_at=dt.time(6), closes_at=dt.time(8))
    holder = site.holder(tenant)
    door = Door.of(AccessPoint.objects.select_related("location").get(pk=site.door.pk))
    closed = access_decide(door=door, holder=holder, channel="portal", when=NOW)  # 10:00 in Berlin
    assert (closed.allowed, closed.reason) == (False, "location_closed")
    opened = access_decide(door=door, holder=holder, channel="portal", when=NOW - dt.timedelta(hours=3))
    assert (opened.allowed, opened.reason) == (True, "ok")
    assert events() == [
        (False, "location_closed", holder.pk, booking.pk),
        (True, "ok", holder.pk, booking.pk),
    ]


def test_a_decision_needs_a_pin_or_a_holder_of_the_doors_own_location(
    site, booking, other_site, other_tenant
) -> None:
    door = Door.of(site.door)
    with pytest.raises(ValueError, match=r"^Pass a PIN or a holder\.$"):
        access_decide(door=door, channel="portal", when=NOW)
    with time_machine.travel(NOW, tick=False):
        cast.book(other_tenant, other_site)
    with pytest.raises(ValueError, match=r"^This holder belongs to another location\.$"):
        access_decide(door=door, holder=other_site.holder(other_tenant), channel="portal", when=NOW)
    assert events() == []


# The guest key page.


@pytest.fixture
def guest_of_two(booking, site, django_capture_on_commit_callbacks):
    """One guest with a share of the owner tenant's booking and a current share of a neighbour's, both
    through the main door: the guest's one holder at the site holds grants of both."""
    with (
        time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=UTC), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ours = cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
        theirs = neighbour_share(site, "friend@example.com", dt.date(2026, 3, 2), dt.date(2026, 3, 31))
    assert ours.holder_id == theirs.holder_id
    links = [KEY.search(m.body)["key"] for m in mail.outbox]
    return ours, theirs, links[0]


def test_a_deleted_shares_link_does_not_open_through_the_guests_other_share(
    client, site, booking, guest_of_two
) -> None:
    ours, theirs, link = guest_of_two
    with time_machine.travel(NOW, tick=False):
        share_delete(actor=ACTOR, share=ours)
        response = client.post(f"/key/{link}/open/{site.door.pk}/", follow=True)
    decision = response.context["decision"]
    assert (decision.allowed, decision.reason) == (False, "revoked")
    assert events() == [(False, "revoked", ours.holder_id, booking.pk)]
    assert "withdrawn" in response.content.decode()


def test_an_ended_shares_link_does_not_open_through_the_guests_other_share(
    client, site, booking, guest_of_two
) -> None:
    ours, theirs, link = guest_of_two
    from keyport.access.services import grants_end_due

    after = dt.datetime(2026, 3, 10, 9, tzinfo=UTC)
    with time_machine.travel(after, tick=False):
        response = client.post(f"/key/{link}/open/{site.door.pk}/", follow=True)
        grants_end_due()
        swept = client.post(f"/key/{link}/open/{site.door.pk}/", follow=True)
    for answer in (response, swept):
        decision = answer.context["decision"]
        assert (decision.allowed, decision.reason) == (False, "outside_window")
    assert events() == [(False, "outside_window", ours.holder_id, booking.pk)] * 2


def test_an_upcoming_shares_link_does_not_open_through_the_guests_other_share(
    client, site, booking, guest_of_two
) -> None:
    ours, theirs, link = guest_of_two
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, tzinfo=UTC), tick=False):
        response = client.post(f"/key/{link}/open/{site.door.pk}/", follow=True)
    decision = response.context["decision"]
    assert (decision.allowed, decision.reason) == (False, "outside_window")
    assert events() == [(False, "outside_window", ours.holder_id, booking.pk)]


def test_a_current_shares_link_opens_and_is_logged_under_its_own_booking(
    client, site, booking, guest_of_two
) -> None:
    ours, theirs, link = guest_of_two
    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/key/{link}/open/{site.door.pk}/", follow=True)
    assert response.context["decision"].allowed is True
    [event] = AccessEvent.objects.all()
    assert (event.allowed, event.reason, event.channel, event.booking_id, event.unit_id) == (
        True,
        "ok",
        "guest",
        booking.pk,
        site.units[0].pk,
    )


# The judgement itself: the facts it asks, in order, and the grant its answer rests on.

BERLIN_DOOR = Door(
    access_point_id=1,
    external_id="DOOR",
    location_id=1,
    time_zone="Europe/Berlin",
    opening_hours=(OpeningPeriod(2, dt.time(6), dt.time(8)), OpeningPeriod(2, dt.time(9), dt.time(12))),
)
OPEN = NOW  # Wednesday 10:00 in Berlin, in the second period
CLOSED = dt.datetime(2026, 3, 4, 7, 30, tzinfo=UTC)  # 08:30, between the two


def grant(grant_id: int, *, active: bool = True, in_window: bool = True, ended: bool = False) -> GrantAtDoor:
    return GrantAtDoor(
        grant_id,
        unit_id=10 + grant_id,
        booking_id=20 + grant_id,
        is_active=active,
        in_window=in_window,
        has_ended=ended,
    )


@pytest.mark.parametrize(
    ("grants", "when", "answer", "rests_on", "checks"),
    [
        ([], OPEN, (False, "not_mapped"), None, [("mapped", False)]),
        (
            [grant(3), grant(1, in_window=False), grant(2)],
            OPEN,
            (True, "ok"),
            2,
            [("mapped", True), ("opens_now", True), ("opening_hours", True)],
        ),
        (
            [grant(3), grant(2)],
            CLOSED,
            (False, "location_closed"),
            2,
            [("mapped", True), ("opens_now", True), ("opening_hours", False)],
        ),
        (
            [grant(3, in_window=False), grant(2, in_window=False), grant(1, active=False)],
            OPEN,
            (False, "outside_window"),
            2,
            [("mapped", True), ("opens_now", False), ("active", True)],
        ),
        (
            [grant(2, active=False, ended=True), grant(3, active=False, ended=True)],
            OPEN,
            (False, "outside_window"),
            3,
            [("mapped", True), ("opens_now", False), ("active", False), ("not_ended", False)],
        ),
        (
            [grant(4, active=False, ended=True), grant(2, active=False), grant(3, active=False)],
            OPEN,
            (False, "revoked"),
            3,
            [("mapped", True), ("opens_now", False), ("active", False), ("not_ended", True)],
        ),
    ],
)
def test_a_judgement_asks_its_facts_in_order_and_rests_on_the_grant_its_answer_comes_from(
    grants, when, answer, rests_on, checks
) -> None:
    judged = access_judge(BERLIN_DOOR, grants, when)
    assert (judged.decision.allowed, judged.decision.reason, judged.decision.retry_after) == (*answer, None)
    assert (judged.grant.grant_id if judged.grant else None) == rests_on
    assert judged.checks == tuple(checks)


def test_a_location_open_twice_a_day_opens_its_doors_in_either_period_only(
    client, site, tenant, booking
) -> None:
    for opens_at, closes_at in ((6, 8), (9, 12)):
        OpeningHours.objects.create(
            location=site.location, weekday=2, opens_at=dt.time(opens_at), closes_at=dt.time(closes_at)
        )
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    pin = site.holder(tenant).pin
    for utc_hour, minute, answer in (
        (6, 30, "ok"),
        (7, 30, "location_closed"),
        (9, 0, "ok"),
        (11, 0, "location_closed"),
    ):
        with time_machine.travel(dt.datetime(2026, 3, 4, utc_hour, minute, tzinfo=UTC), tick=False):
            assert check(client, key, pin)["reason"] == answer


def test_a_door_check_is_logged_under_its_site_door_unit_booking_and_channel(
    client, site, tenant, booking
) -> None:
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, site.holder(tenant).pin) == {"allowed": True, "reason": "ok"}
    event = AccessEvent.objects.get()
    assert (event.location_id, event.access_point_id, event.unit_id, event.booking_id, event.channel) == (
        site.location.pk,
        site.door.pk,
        site.units[0].pk,
        booking.pk,
        "device",
    )
    assert event.occurred_at == NOW


def test_a_key_asking_about_another_access_point_is_refused_before_anything_is_logged(
    client, site, tenant, booking
) -> None:
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    response = client.post(
        "/api/v1/access/check",
        json.dumps({"access_point": site.unit_lock.external_id, "pin": site.holder(tenant).pin}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert (response.status_code, response.json()) == (403, {"error": "wrong_access_point"})
    assert events() == []


# The event write and the counts it is guarded by.


def test_an_event_is_logged_unguarded_or_only_while_the_doors_counts_hold(site, booking) -> None:
    from keyport.access.services.doors import access_event_record

    door = fresh_door(site)
    assert access_event_record(door, channel="device", allowed=False, reason="unknown_pin", when=NOW) is True
    serial = door.wrong_pin_serial
    assert access_event_record(
        door, channel="device", allowed=False, reason="unknown_pin", when=NOW, if_wrong_pin_serial=serial
    )
    assert not access_event_record(
        door, channel="device", allowed=False, reason="unknown_pin", when=NOW, if_wrong_pin_serial=serial + 1
    )
    assert AccessEvent.objects.count() == 2


def test_a_right_pin_at_a_door_with_wrong_pins_behind_it_is_one_read_and_one_insert(
    client, site, tenant, booking, django_assert_max_num_queries
) -> None:
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    pin, door = site.holder(tenant).pin, site.door.external_id
    with time_machine.travel(NOW, tick=False):
        assert check(client, key, nobodys_pin(), door)["reason"] == "unknown_pin"
        with django_assert_max_num_queries(2):  # the door, its counts and the PIN's grants; the event
            assert check(client, key, pin, door) == {"allowed": True, "reason": "ok"}


def test_every_wrong_pin_moves_the_counts_on_so_a_pin_read_between_two_is_judged_again(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 50
    settings.ACCESS_PIN_BLOCK_AFTER = 2
    access_decide(door=fresh_door(site), pin=nobodys_pin(), channel="device", when=NOW)
    read_between = fresh_door(site)
    access_decide(door=fresh_door(site), pin=nobodys_pin(), channel="device", when=NOW)  # blocks
    decision = access_decide(door=read_between, pin=site.holder(tenant).pin, channel="device", when=NOW)
    assert (decision.allowed, decision.reason) == (False, "blocked")


def test_a_right_pin_whose_door_a_wrong_pin_blocked_after_the_read_is_refused_as_blocked(
    client, site, tenant, booking, settings, monkeypatch
) -> None:
    from keyport.access.services import decisions

    settings.ACCESS_PIN_SLOW_AFTER = 50
    settings.ACCESS_PIN_BLOCK_AFTER = 1
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    read = decisions.door_for_device_key

    def read_then_a_wrong_pin(*args, **kwargs):
        found = read(*args, **kwargs)
        access_decide(door=fresh_door(site), pin=nobodys_pin(), channel="device", when=NOW)
        return found

    monkeypatch.setattr(decisions, "door_for_device_key", read_then_a_wrong_pin)
    holder = site.holder(tenant)
    with time_machine.travel(NOW, tick=False):
        answer = check(client, key, holder.pin)
    assert (answer["allowed"], answer["reason"]) == (False, "blocked")
    assert events() == [(False, "unknown_pin", None, None), (False, "blocked", holder.pk, None)]

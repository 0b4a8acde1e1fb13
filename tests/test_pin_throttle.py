"""Wrong PINs at a keypad: counted exactly, however many come at once; a block is shown, emailed and
lifted by the location's owners and managers; the portal's Open button is never blocked."""

import datetime as dt
import json
import re
import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.urls import reverse

from keyport.access.models import AccessEvent
from keyport.access.services import access_decide, device_access_decide, device_key_issue
from keyport.access.services.doors import Door
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.emails.models import OutgoingEmail
from keyport.facilities.models import AccessPoint
from tests import cast
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)  # 10:00 in Berlin
KEY = re.compile(r"/key/(?P<key>[A-Za-z0-9_-]+)/")


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


def wrong_pin(site, tenant) -> str:
    return "1" * 6 if site.holder(tenant).pin != "1" * 6 else "2" * 6


def type_pins(site, pin: str, count: int, *, start: dt.datetime, every: dt.timedelta) -> list[str]:
    """PINs typed at the site's main door, one every `every` from `start`: the reasons answered."""
    reasons = []
    for n in range(count):
        door = Door.of(AccessPoint.objects.select_related("location").get(pk=site.door.pk))
        reasons.append(access_decide(door=door, pin=pin, channel="device", when=start + n * every).reason)
    return reasons


def thirty_wrong_pins(site, tenant) -> list[str]:
    """Thirty wrong PINs in two minutes, one every 4 s from NOW: the tenth counted (at 52 s) blocks
    the keypad until 09:15:52 UTC, 10:15 in Berlin."""
    return type_pins(site, wrong_pin(site, tenant), 30, start=NOW, every=dt.timedelta(seconds=4))


def test_thirty_wrong_pins_are_ten_judged_then_slowed_and_blocked(site, tenant, booking) -> None:
    reasons = thirty_wrong_pins(site, tenant)
    assert reasons.count("unknown_pin") == 10
    assert reasons[-16:] == ["blocked"] * 16 and reasons.count("slow_down") == 4
    door = AccessPoint.objects.get(pk=site.door.pk)
    assert door.pins_blocked_until == NOW + dt.timedelta(seconds=52 + 900)
    assert door.wrong_pins_since == NOW


def test_a_right_pin_read_before_a_wrong_pin_blocked_the_keypad_is_judged_again(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 100
    settings.ACCESS_PIN_BLOCK_AFTER = 3
    read_before = Door.of(AccessPoint.objects.select_related("location").get(pk=site.door.pk))
    type_pins(site, wrong_pin(site, tenant), 3, start=NOW, every=dt.timedelta(0))
    decision = access_decide(door=read_before, pin=site.holder(tenant).pin, channel="device", when=NOW)
    assert (decision.allowed, decision.reason) == (False, "blocked")
    event = AccessEvent.objects.filter(holder=site.holder(tenant)).get()
    assert (event.allowed, event.reason) == (False, "blocked")


def test_during_a_block_the_keypad_says_the_portals_open_button_still_works(
    client, site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 100
    settings.ACCESS_PIN_BLOCK_AFTER = 3
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    headers = {"Authorization": f"Bearer {key}"}
    with time_machine.travel(NOW, tick=False):
        for pin in [wrong_pin(site, tenant)] * 3 + [site.holder(tenant).pin]:
            body = json.dumps({"access_point": site.door.external_id, "pin": pin})
            answer = client.post(
                "/api/v1/access/check", body, content_type="application/json", headers=headers
            ).json()
    assert answer["allowed"] is False and answer["reason"] == "blocked"
    assert answer["retry_after"] == settings.ACCESS_PIN_BLOCK_SECONDS + 1
    assert "Open button" in answer["message"] and "15 more minutes" in answer["message"]


def test_the_portals_open_button_and_the_guest_key_page_open_during_a_keypad_block(
    client, booking, site, tenant, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        cast.share(booking, "friend@example.com", dt.date(2026, 3, 4), dt.date(2026, 3, 9))
    guest_key = KEY.search(mail.outbox[-1].body)["key"]
    thirty_wrong_pins(site, tenant)
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        assert AccessPoint.objects.get(pk=site.door.pk).pins_blocked_until > NOW + dt.timedelta(minutes=3)
        sign_in_as(client, tenant)
        opened = client.post(reverse("portal:portal_open", args=[booking.pk, site.door.pk]), follow=True)
        assert opened.context["decision"].allowed
        guest_now = client.post(f"/key/{guest_key}/open/{site.door.pk}/", follow=True)
        assert guest_now.context["decision"].allowed
    assert AccessEvent.objects.filter(channel__in=["portal", "guest"], allowed=True).count() == 2


@pytest.fixture
def staff(manager, employee, other_manager, owner):
    """The cast's owner, the site's manager and employee, and the other site's manager."""
    return {"owner": owner, "manager": manager, "employee": employee, "elsewhere": other_manager}


ALERT = "Main door: 30 wrong PINs in 2 minutes, blocked until 10:15"


@pytest.mark.parametrize("page", ["overview", "location"])
def test_a_block_shows_at_once_on_the_overview_and_the_location_page_naming_the_door(
    client, site, tenant, booking, staff, page
) -> None:
    thirty_wrong_pins(site, tenant)
    url = (
        reverse("dashboard:home")
        if page == "overview"
        else reverse("dashboard:location_detail", args=[site.location.pk])
    )
    lift = reverse("dashboard:access_point_lift_block", args=[site.location.pk, site.door.pk])
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        for who in ("owner", "manager"):
            client.force_login(staff[who])
            html = client.get(url).content.decode()
            assert ALERT in html and "(Europe/Berlin time)" in html.replace(f"{site.location.name}, ", "")
            assert f'action="{lift}"' in html and "Lift block" in html
        client.force_login(staff["employee"])
        html = client.get(url).content.decode()
        assert ALERT in html and f'action="{lift}"' not in html
        assert "An owner or a manager of this location can lift the block." in html


def test_a_right_pin_turned_away_by_the_block_is_not_counted_as_a_wrong_one(
    client, site, tenant, booking, staff
) -> None:
    thirty_wrong_pins(site, tenant)
    type_pins(site, site.holder(tenant).pin, 1, start=NOW + dt.timedelta(minutes=2), every=dt.timedelta(0))
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        client.force_login(staff["owner"])
        assert ALERT in client.get(reverse("dashboard:home")).content.decode()


def test_lift_block_lets_the_right_pin_open_at_once_and_is_audited(
    client, site, tenant, booking, staff
) -> None:
    thirty_wrong_pins(site, tenant)
    later = NOW + dt.timedelta(minutes=3)
    with time_machine.travel(later, tick=False):
        client.force_login(staff["manager"])
        lift = reverse("dashboard:access_point_lift_block", args=[site.location.pk, site.door.pk])
        response = client.post(lift, {"next": reverse("dashboard:home")})
        assert response.status_code == 302 and response["Location"] == reverse("dashboard:home")
        page = client.get(reverse("dashboard:home")).content.decode()
        assert "Main door: block lifted." in page and ALERT not in page
    entry = AuditEntry.objects.get(action="access.pin_block_lifted")
    assert (entry.actor_id, entry.target_id, entry.details["wrong_pins"]) == (
        staff["manager"].pk,
        site.door.pk,
        10,
    )
    assert type_pins(site, site.holder(tenant).pin, 1, start=later, every=dt.timedelta(0)) == ["ok"]


@pytest.mark.parametrize("who", ["employee", "elsewhere"])
def test_employees_and_other_locations_staff_cannot_lift_a_block(
    client, site, tenant, booking, staff, who
) -> None:
    thirty_wrong_pins(site, tenant)
    before = AccessPoint.objects.values().get(pk=site.door.pk)
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        client.force_login(staff[who])
        lift = reverse("dashboard:access_point_lift_block", args=[site.location.pk, site.door.pk])
        assert client.post(lift).status_code in {403, 404}
    assert AccessPoint.objects.values().get(pk=site.door.pk) == before
    assert not AuditEntry.objects.filter(action="access.pin_block_lifted").exists()


def test_the_locations_managers_get_one_email_a_block(
    site, tenant, booking, staff, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        thirty_wrong_pins(site, tenant)
    [email] = OutgoingEmail.objects.filter(template="keypad_blocked")
    assert email.to == "manager@keyport.test"
    [sent] = [message for message in mail.outbox if message.to == ["manager@keyport.test"]]
    assert sent.subject.startswith("Main door at ") and "10 wrong PINs" in sent.subject
    assert "10:15 (Europe/Berlin time)" in sent.body and "Open button" in sent.body
    assert f"/dashboard/locations/{site.location.pk}/" in sent.body
    assert AuditEntry.objects.filter(action="access.pin_block_started", target_id=site.door.pk).count() == 1
    # Lifted and blocked again: a second email.
    with time_machine.travel(NOW + dt.timedelta(minutes=3), tick=False):
        from keyport.access.services import access_point_pin_block_lift

        assert access_point_pin_block_lift(actor=Actor.staff(staff["owner"]), access_point=site.door)
    with django_capture_on_commit_callbacks(execute=True):
        type_pins(
            site,
            wrong_pin(site, tenant),
            30,
            start=NOW + dt.timedelta(minutes=4),
            every=dt.timedelta(seconds=4),
        )
    assert OutgoingEmail.objects.filter(template="keypad_blocked").count() == 2


# Concurrency: every request its own thread and connection, on PostgreSQL ------------------------------


def in_parallel(count: int, batches: int, check) -> list[str]:
    reasons: list[str] = []
    for _ in range(batches):
        barrier = threading.Barrier(count)

        def one(barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                reasons.append(check())
            finally:
                connection.close()

        threads = [threading.Thread(target=one) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return reasons


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_forty_wrong_pins_twenty_at_a_time_are_judged_exactly_up_to_the_limit(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 100  # the block's limit alone
    settings.ACCESS_PIN_BLOCK_AFTER = 10
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = wrong_pin(site, tenant)

    def check() -> str:
        return device_access_decide(key=key, access_point_ref=site.door.external_id, pin=pin).reason

    with time_machine.travel(NOW, tick=False):
        reasons = in_parallel(20, 2, check)
    assert reasons.count("unknown_pin") == 10 and reasons.count("blocked") == 30
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 10
    assert AccessEvent.objects.filter(reason="unknown_pin").count() == 10
    assert AuditEntry.objects.filter(action="access.pin_block_started").count() == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_a_burst_faster_than_the_slow_down_is_judged_exactly_up_to_the_slow_down(
    site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 5
    settings.ACCESS_PIN_BLOCK_AFTER = 10
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = wrong_pin(site, tenant)

    def check() -> str:
        return device_access_decide(key=key, access_point_ref=site.door.external_id, pin=pin).reason

    with time_machine.travel(NOW, tick=False):
        reasons = in_parallel(20, 1, check)
    assert reasons.count("unknown_pin") == 5 and reasons.count("slow_down") == 15

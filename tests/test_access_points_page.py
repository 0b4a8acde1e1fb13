"""A location's Access points page: add, rename and retire access points, the units each serves,
device keys (shown once, replaced, withdrawn) and each device's last check; who may change them."""

import datetime as dt
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from keyport.access.models import AccessEvent, DeviceKey
from keyport.access.services import (
    access_decide,
    access_point_retire,
    device_key_issue,
)
from keyport.access.services import devices as device_services
from keyport.access.services.doors import Door
from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.facilities import csv_imports
from keyport.facilities import services as facilities
from keyport.facilities.models import AccessPoint, AccessPointKind, UnitAccessPoint
from tests import cast
from tests.factories import AccessPointFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
ACTOR = Actor.system("tests")


def list_url(site):
    return reverse("dashboard:location_access_points", args=[site.location.pk])


def point_url(site, point, name="access_point_detail"):
    return reverse(f"dashboard:{name}", args=[site.location.pk, point.pk])


def check(client, key, external_id, pin="123456"):
    return client.post(
        "/api/v1/access/check",
        json.dumps({"access_point": external_id, "pin": pin}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )


def mapping(site):
    return sorted(
        UnitAccessPoint.objects.filter(unit__location=site.location).values_list("unit_id", "access_point_id")
    )


@pytest.fixture
def booking(tenant, site):
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


# The page and who may use it ---------------------------------------------------------------------


def test_the_location_page_links_to_its_access_points(manager_client, site):
    assert list_url(site) in manager_client.get(f"/dashboard/locations/{site.location.pk}/").content.decode()


def test_the_list_shows_each_point_its_units_and_its_device(manager_client, site):
    device_key_issue(actor=ACTOR, access_point=site.door)
    page = manager_client.get(list_url(site)).content.decode()
    assert "Main door" in page and site.door.external_id in page and "A001 lock" in page
    assert DeviceKey.objects.get(access_point=site.door).prefix in page
    assert "Never checked" in page and "No device key" in page  # the door's key; the lock has none
    assert "Add an access point" in page


def test_the_list_takes_the_same_queries_however_many_points(manager_client, site, django_assert_num_queries):
    manager_client.get(list_url(site))
    with django_assert_num_queries(5) as few:
        manager_client.get(list_url(site))
    for n in range(5):
        device_key_issue(
            actor=ACTOR, access_point=AccessPointFactory(location=site.location, name=f"Gate {n}")
        )
    with django_assert_num_queries(len(few)):
        manager_client.get(list_url(site))


def test_employees_see_the_pages_read_only_and_change_nothing(employee_client, site):
    device_key_issue(actor=ACTOR, access_point=site.door)
    before = (
        list(AccessPoint.objects.values_list("pk", "name", "retired_at")),
        mapping(site),
        AuditEntry.objects.count(),
    )
    key_hash = DeviceKey.objects.get().key_hash
    page = employee_client.get(list_url(site))
    assert page.status_code == 200 and "Add an access point" not in page.content.decode()
    detail = employee_client.get(point_url(site, site.door)).content.decode()
    assert "A001" in detail and "<form" not in detail.split('id="main"')[1]
    posts = [
        (list_url(site), {"name": "New gate", "kind": "gate", "external_id": "NEW-1"}),
        (point_url(site, site.door), {"name": "Renamed"}),
        (point_url(site, site.door, "access_point_units"), {"units": [site.units[2].pk]}),
        (point_url(site, site.door, "access_point_device_key"), {}),
        (point_url(site, site.door, "access_point_device_key_withdraw"), {}),
        (point_url(site, site.door, "access_point_retire"), {}),
    ]
    for url, data in posts:
        assert employee_client.post(url, data).status_code == 403, url
    after = (
        list(AccessPoint.objects.values_list("pk", "name", "retired_at")),
        mapping(site),
        AuditEntry.objects.count(),
    )
    assert after == before
    assert DeviceKey.objects.get().key_hash == key_hash


def test_a_manager_of_another_location_cannot_reach_these_points(other_manager_client, site):
    assert other_manager_client.get(list_url(site)).status_code == 404
    assert other_manager_client.post(point_url(site, site.door, "access_point_retire")).status_code == 404
    assert AccessPoint.objects.get(pk=site.door.pk).retired_at is None


def test_a_point_of_another_location_is_not_found_under_this_one(manager_client, site, other_site):
    url = reverse("dashboard:access_point_detail", args=[site.location.pk, other_site.door.pk])
    assert manager_client.get(url).status_code == 404


# Add and rename ----------------------------------------------------------------------------------


def test_a_manager_adds_an_access_point_audited(manager_client, manager, site):
    answer = manager_client.post(
        list_url(site), {"name": " Back gate ", "kind": "gate", "external_id": " GATE-2 "}
    )
    point = AccessPoint.objects.get(location=site.location, external_id="GATE-2")
    assert answer.status_code == 302 and answer.headers["Location"] == point_url(site, point)
    assert (point.name, point.kind) == ("Back gate", AccessPointKind.GATE)
    entry = AuditEntry.objects.get(action="access_point.created")
    assert (entry.actor_id, entry.target_id, entry.location_id) == (manager.pk, point.pk, site.location.pk)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            {"name": "Gate", "kind": "gate", "external_id": "door-{pk}"},
            "external_id",
            "Main door already has",
        ),
        ({"name": "  ", "kind": "gate", "external_id": "NEW-1"}, "name", "Give the access point a name"),
        ({"name": "Gate", "kind": "gate", "external_id": ""}, "external_id", "Enter the identifier"),
    ],
)
def test_bad_input_to_add_is_told_beside_its_field_and_adds_nothing(manager_client, site, data, field, words):
    data = {**data, "external_id": data["external_id"].format(pk=site.location.pk)}
    before = (AccessPoint.objects.count(), AuditEntry.objects.count())
    answer = manager_client.post(list_url(site), data)
    assert answer.status_code == 400
    assert words in str(answer.context["form"].errors[field])
    assert f'id="id_{field}-error"' in answer.content.decode()
    assert (AccessPoint.objects.count(), AuditEntry.objects.count()) == before


def test_the_same_identifier_is_free_at_another_location(site, other_site):
    point = facilities.access_point_create(
        actor=ACTOR,
        location=other_site.location,
        name="Door",
        kind="building_door",
        external_id=site.door.external_id,
    )
    assert point.location == other_site.location


def test_a_retired_points_identifier_stays_its_own(site):
    access_point_retire(actor=ACTOR, access_point=site.door)
    with pytest.raises(ValidationError, match=r"Main door \(retired\) already has"):
        facilities.access_point_create(
            actor=ACTOR,
            location=site.location,
            name="New door",
            kind="gate",
            external_id=site.door.external_id,
        )


def test_renaming_keeps_the_old_name_in_the_audit(manager_client, site):
    answer = manager_client.post(point_url(site, site.door), {"name": "Front door"})
    assert answer.status_code == 302
    assert AccessPoint.objects.get(pk=site.door.pk).name == "Front door"
    entry = AuditEntry.objects.get(action="access_point.renamed")
    assert entry.details == {"changed": {"name": ["Main door", "Front door"]}}


def test_an_empty_name_is_refused_beside_its_field_and_nothing_changes(manager_client, site):
    answer = manager_client.post(point_url(site, site.door), {"name": "   "})
    assert answer.status_code == 400
    assert "Give the access point a name" in str(answer.context["rename_form"].errors["name"])
    assert AccessPoint.objects.get(pk=site.door.pk).name == "Main door"
    assert not AuditEntry.objects.filter(action="access_point.renamed").exists()


# The units a point serves ------------------------------------------------------------------------


def test_a_manager_sets_the_units_a_point_serves_audited(manager_client, site):
    a001, a002, a003 = site.units
    answer = manager_client.post(
        point_url(site, site.door, "access_point_units"), {"units": [a002.pk, a003.pk]}
    )
    assert answer.status_code == 302
    assert set(site.door.units.all()) == {a002, a003}
    entry = AuditEntry.objects.get(action="access_point.units_mapped")
    assert entry.details == {"added": ["A003"], "removed": ["A001"]}


def test_mapping_units_opens_the_point_for_their_holders(site, tenant, booking):
    door = Door.of(AccessPoint.objects.select_related("location").get(pk=site.unit_lock.pk))
    holder = site.holder(tenant)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        facilities.access_point_map_units(actor=ACTOR, access_point=site.unit_lock, units=[])
        assert access_decide(door=door, holder=holder, channel="portal").reason == "not_mapped"
        facilities.access_point_map_units(actor=ACTOR, access_point=site.unit_lock, units=[site.units[2]])
        assert access_decide(door=door, holder=holder, channel="portal").allowed


def test_a_unit_of_another_location_is_refused_beside_the_field_and_nothing_changes(
    manager_client, site, other_site
):
    before = mapping(site)
    url = point_url(site, site.door, "access_point_units")
    answer = manager_client.post(url, {"units": [site.units[0].pk, other_site.units[0].pk]})
    assert answer.status_code == 400
    assert "Choose units of this location only." in str(answer.context["units_form"].errors["units"])
    assert 'id="units-error"' in answer.content.decode()
    assert (
        other_site.units[0].number
        not in answer.content.decode().split('id="units-error"')[1].split("</div>")[0]
    )
    assert mapping(site) == before
    assert not AuditEntry.objects.filter(action="access_point.units_mapped").exists()


def test_the_service_refuses_a_unit_of_another_location(site, other_site):
    before = mapping(site)
    with pytest.raises(ValidationError, match="Not at this access point's location: A001"):
        facilities.access_point_map_units(actor=ACTOR, access_point=site.door, units=[other_site.units[0]])
    assert mapping(site) == before


# Retire ------------------------------------------------------------------------------------------


def test_retiring_withdraws_the_key_and_the_mapping_audited(manager_client, site):
    device_key_issue(actor=ACTOR, access_point=site.door)
    answer = manager_client.post(point_url(site, site.door, "access_point_retire"), {"confirm": "1"})
    assert answer.status_code == 302
    point = AccessPoint.objects.get(pk=site.door.pk)
    assert point.retired_at is not None
    assert not point.unit_mappings.exists() and not DeviceKey.objects.filter(access_point=point).exists()
    entry = AuditEntry.objects.get(action="access_point.retired")
    assert entry.details == {"units": ["A001", "A002"], "device_key_withdrawn": True}
    page = manager_client.get(list_url(site)).content.decode()
    assert "Retired" in page
    assert "Retire Main door" not in manager_client.get(point_url(site, site.door)).content.decode()


def test_retire_and_withdraw_first_say_what_follows_and_change_nothing(manager_client, site):
    device_key_issue(actor=ACTOR, access_point=site.door)
    key_hash = DeviceKey.objects.get(access_point=site.door).key_hash
    before = (mapping(site), AuditEntry.objects.count())
    retire = manager_client.post(point_url(site, site.door, "access_point_retire"))
    assert retire.status_code == 200
    assert "Retire Main door?" in retire.content.decode() and "its 2 units" in retire.content.decode()
    withdraw = manager_client.post(point_url(site, site.door, "access_point_device_key_withdraw"))
    assert (
        withdraw.status_code == 200 and "Withdraw the device key of Main door?" in withdraw.content.decode()
    )
    for page in (retire, withdraw):
        assert 'name="confirm" value="1"' in page.content.decode()
    assert AccessPoint.objects.get(pk=site.door.pk).retired_at is None
    assert DeviceKey.objects.get(access_point=site.door).key_hash == key_hash
    assert (mapping(site), AuditEntry.objects.count()) == before


def test_a_retired_points_door_check_is_refused_and_logs_nothing(client, site, tenant, booking):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    pin = site.holder(tenant).pin
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        assert check(client, key, site.door.external_id, pin).json()["allowed"]
        access_point_retire(actor=ACTOR, access_point=site.door)
        answer = check(client, key, site.door.external_id, pin)
    assert answer.status_code == 401 and answer.json() == {"error": "invalid_device_key"}
    assert AccessEvent.objects.count() == 1


def test_a_retired_point_opens_nothing_from_the_portal(site, tenant, booking):
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        access_point_retire(actor=ACTOR, access_point=site.door)
        door = Door.of(AccessPoint.objects.select_related("location").get(pk=site.door.pk))
        assert access_decide(door=door, holder=site.holder(tenant), channel="portal").reason == "not_mapped"


def test_a_retired_point_is_never_offered_nor_takes_a_key_or_units(manager_client, site):
    access_point_retire(actor=ACTOR, access_point=site.unit_lock)
    unit_page = manager_client.get(reverse("dashboard:unit_edit", args=[site.units[0].pk])).content.decode()
    assert "A001 lock" not in unit_page and "Main door" in unit_page
    with pytest.raises(ValidationError, match="retired"):
        device_key_issue(actor=ACTOR, access_point=site.unit_lock)
    with pytest.raises(ValidationError, match="retired"):
        facilities.access_point_map_units(actor=ACTOR, access_point=site.unit_lock, units=[site.units[0]])
    with pytest.raises(ValidationError, match="Retired, they open nothing: A001 lock"):
        facilities.unit_map_access_points(actor=ACTOR, unit=site.units[0], access_points=[site.unit_lock])
    answer = manager_client.post(point_url(site, site.unit_lock, "access_point_device_key"))
    assert answer.status_code == 302
    assert not DeviceKey.objects.filter(access_point=site.unit_lock).exists()
    assert not UnitAccessPoint.objects.filter(access_point=site.unit_lock).exists()
    with pytest.raises(ValidationError, match="retired"):
        facilities.access_point_rename(actor=ACTOR, access_point=site.unit_lock, name="Reused lock")
    site.unit_lock.refresh_from_db()
    assert site.unit_lock.name == "A001 lock"


def test_the_mapping_csv_does_not_know_a_retired_point(site):
    access_point_retire(actor=ACTOR, access_point=site.unit_lock)
    data = f"A003,{site.unit_lock.external_id}\n".encode()
    with pytest.raises(ValidationError, match="unknown access point"):
        csv_imports.unit_mappings_import(actor=ACTOR, location=site.location, data=data)


def test_the_command_goes_through_the_same_rules(site, capsys):
    access_point_retire(actor=ACTOR, access_point=site.door)
    with pytest.raises(CommandError, match="Main door is retired"):
        call_command("access_device_key", str(site.location.pk), site.door.external_id)
    assert not DeviceKey.objects.exists()
    with pytest.raises(CommandError, match="no device key"):
        call_command("access_device_key", str(site.location.pk), site.door.external_id, "--revoke")


# Device keys -------------------------------------------------------------------------------------


def test_a_new_key_is_shown_once_and_never_again(manager_client, site):
    answer = manager_client.post(point_url(site, site.door, "access_point_device_key"))
    assert answer.status_code == 200
    key = answer.context["key"]
    assert key in answer.content.decode() and "only time the key is shown" in answer.content.decode()
    assert "no-store" in answer.headers["Cache-Control"]
    assert "old key has stopped working" not in answer.content.decode()
    for page in (manager_client.get(point_url(site, site.door)), manager_client.get(list_url(site))):
        assert key not in page.content.decode() and key[:10] in page.content.decode()
    entry = AuditEntry.objects.get(action="access.device_key_issued")
    assert key not in json.dumps(entry.details)


def test_replacing_a_key_says_the_old_one_stopped_working_and_it_has(manager_client, client, site):
    old = device_key_issue(actor=ACTOR, access_point=site.door)
    answer = manager_client.post(point_url(site, site.door, "access_point_device_key"))
    assert "The old key has stopped working." in answer.content.decode()
    new = answer.context["key"]
    assert check(client, old, site.door.external_id).status_code == 401
    assert check(client, new, site.door.external_id).status_code == 200
    issued = AuditEntry.objects.filter(action="access.device_key_issued").order_by("pk")
    assert [entry.details["replaced_a_key"] for entry in issued] == [False, True]


def test_withdrawing_a_lost_keypads_key_refuses_its_checks_audited(manager_client, client, site):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    answer = manager_client.post(
        point_url(site, site.door, "access_point_device_key_withdraw"), {"confirm": "1"}
    )
    assert answer.status_code == 302
    assert check(client, key, site.door.external_id).status_code == 401
    assert AuditEntry.objects.filter(action="access.device_key_revoked", target_id=site.door.pk).exists()
    page = manager_client.get(point_url(site, site.door)).content.decode()
    assert "Issue device key" in page and ">Withdraw</button>" not in page


def test_the_key_page_copies_through_its_own_script_not_inline(manager_client, site):
    page = manager_client.post(point_url(site, site.door, "access_point_device_key")).content.decode()
    assert "/static/keyport/copy.js" in page
    assert "<script>" not in page and "onclick" not in page
    assert 'data-kp-copy="device-key"' in page and "hidden" in page.split("data-kp-copy=")[1].split(">")[0]


# Each device's last check ------------------------------------------------------------------------


def test_a_devices_check_and_its_answer_are_noted_on_its_key(client, manager_client, site, tenant, booking):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        check(client, key, site.door.external_id, site.holder(tenant).pin)
    stored = DeviceKey.objects.get()
    assert (stored.last_check_at, stored.last_check_result) == (NOW + dt.timedelta(hours=1), "ok")
    assert "Opened for a PIN" in manager_client.get(point_url(site, site.door)).content.decode()


def test_a_misconfigured_device_shows_on_the_page(client, manager_client, site):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    assert check(client, key, site.unit_lock.external_id).status_code == 403
    assert DeviceKey.objects.get().last_check_result == "wrong_access_point"
    page = manager_client.get(list_url(site)).content.decode()
    assert "Check the device" in page and "another access point&#x27;s identifier" in page


def test_a_bad_question_from_a_known_key_is_noted_too(client, site):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    client.post(
        "/api/v1/access/check",
        "[]",
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert DeviceKey.objects.get().last_check_result == "bad_request"


def test_a_check_is_noted_at_most_once_a_minute(client, site, tenant, booking):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    pin, start = site.holder(tenant).pin, NOW + dt.timedelta(hours=1)
    with time_machine.travel(start, tick=False):
        check(client, key, site.door.external_id, pin)
    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
        check(client, key, site.unit_lock.external_id, pin)
        # Another process, which has not noted this key yet, leaves it too: the UPDATE's own condition.
        device_services._recorded_at.clear()
        check(client, key, site.unit_lock.external_id, pin)
    stored = DeviceKey.objects.get()
    assert (stored.last_check_at, stored.last_check_result) == (start, "ok")
    # A minute after this process last tried.
    with time_machine.travel(start + dt.timedelta(seconds=119), tick=False):
        check(client, key, site.unit_lock.external_id, pin)
    stored.refresh_from_db()
    assert (stored.last_check_at, stored.last_check_result) == (
        start + dt.timedelta(seconds=119),
        "wrong_access_point",
    )


def test_a_new_key_starts_with_no_check(client, site):
    key = device_key_issue(actor=ACTOR, access_point=site.door)
    check(client, key, site.door.external_id)
    device_key_issue(actor=ACTOR, access_point=site.door)
    stored = DeviceKey.objects.get()
    assert (stored.last_check_at, stored.last_check_result) == (None, "")


def test_every_result_a_door_check_records_has_words_for_staff():
    """Each reason the door API notes on a device key (its decisions' reasons and the misreads the
    API refuses) reads as words on the Access points page, never as a raw code."""
    from keyport.access.access_point_queries import DEVICE_CHECK_WORDS, DEVICE_MISCONFIGURED

    assert (
        {"bad_request", "body_too_large", "wrong_access_point"}
        <= DEVICE_MISCONFIGURED
        <= set(DEVICE_CHECK_WORDS)
    )

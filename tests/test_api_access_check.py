import datetime as dt
import json
import threading

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from keyport.access.models import AccessEvent, DeviceKey
from keyport.access.services import access_decide, device_key_issue
from keyport.access.services.doors import Door
from keyport.audit.services import Actor
from keyport.facilities.models import AccessPoint
from tests import cast

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


def check(client, key, body):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(
        "/api/v1/access/check", json.dumps(body), content_type="application/json", headers=headers
    )


@time_machine.travel(NOW, tick=False)
def test_a_door_asks_with_its_key_and_the_decision_is_logged(client, site, tenant, booking) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = site.holder(tenant).pin
    response = check(client, key, {"access_point": site.door.external_id, "pin": pin})
    assert response.status_code == 200
    assert response.json() == {"allowed": True, "reason": "ok"}
    event = AccessEvent.objects.get()
    assert (event.allowed, event.reason, event.holder.contact, event.access_point) == (
        True,
        "ok",
        tenant,
        site.door,
    )
    wrong = "1" * 6 if pin != "1" * 6 else "2" * 6
    assert check(client, key, {"access_point": site.door.external_id, "pin": wrong}).json() == {
        "allowed": False,
        "reason": "unknown_pin",
    }


def test_missing_or_wrong_keys_are_refused(client, site, booking) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    body = {"access_point": site.door.external_id, "pin": "123456"}
    assert check(client, None, body).status_code == 401
    assert check(client, "kpd_wrong", body).status_code == 401
    assert (
        check(client, key, {"access_point": site.unit_lock.external_id, "pin": "123456"}).status_code == 403
    )
    assert check(client, key, {"access_point": site.door.external_id}).status_code == 400
    for not_a_pin in ("12ab", "١٢٣٤٥٦", "１２３４５６", "123", "1" * 11, "123456\n"):
        answer = check(client, key, {"access_point": site.door.external_id, "pin": not_a_pin})
        assert answer.status_code == 400, not_a_pin
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 0
    # A bad body from an unknown key tells nothing about the body.
    assert check(client, "kpd_wrong", {"access_point": site.door.external_id}).status_code == 401
    assert not AccessEvent.objects.exists()


def test_only_a_hash_of_the_key_is_stored_and_rotation_replaces_it(site, booking, capsys) -> None:
    call_command("access_device_key", str(site.location.pk), site.door.external_id)
    first = capsys.readouterr().out.strip()
    stored = DeviceKey.objects.get(access_point=site.door)
    assert first not in stored.key_hash and len(stored.key_hash) == 64
    call_command("access_device_key", str(site.location.pk), site.door.external_id)
    second = capsys.readouterr().out.strip()
    assert first != second and DeviceKey.objects.count() == 1


def test_a_revoked_device_key_is_refused_until_a_new_one_is_issued(
    client, site, tenant, booking, capsys
) -> None:
    from django.core.management.base import CommandError

    from keyport.audit.models import AuditEntry

    call_command("access_device_key", str(site.location.pk), site.door.external_id)
    key = capsys.readouterr().out.strip()
    body = {"access_point": site.door.external_id, "pin": site.holder(tenant).pin}
    assert check(client, key, body).status_code == 200
    call_command("access_device_key", str(site.location.pk), site.door.external_id, "--revoke")
    assert "Device key revoked" in capsys.readouterr().out
    assert check(client, key, body).status_code == 401 and not DeviceKey.objects.exists()
    assert AuditEntry.objects.filter(action="access.device_key_revoked").count() == 1
    with pytest.raises(CommandError, match="no device key"):
        call_command("access_device_key", str(site.location.pk), site.door.external_id, "--revoke")
    call_command("access_device_key", str(site.location.pk), site.door.external_id)
    assert check(client, capsys.readouterr().out.strip(), body).status_code == 200


def test_wrong_pins_are_slowed_then_blocked_and_logged(client, site, tenant, booking, settings) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 3
    settings.ACCESS_PIN_BLOCK_AFTER = 5
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = site.holder(tenant).pin
    wrong = "1" * 6 if pin != "1" * 6 else "2" * 6
    body = {"access_point": site.door.external_id, "pin": wrong}
    start = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        reasons = [check(client, key, body).json()["reason"] for _ in range(3)]
        assert reasons == ["unknown_pin"] * 3
        slowed = check(client, key, body).json()
        assert slowed["reason"] == "slow_down" and slowed["retry_after"] >= 1
        clock.shift(dt.timedelta(seconds=2))
        assert check(client, key, body).json()["reason"] == "unknown_pin"
        clock.shift(dt.timedelta(seconds=3))
        assert check(client, key, body).json()["reason"] == "unknown_pin"  # the fifth: blocked now
        blocked = check(client, key, {"access_point": site.door.external_id, "pin": pin}).json()
        assert blocked["reason"] == "blocked"  # even the right PIN waits
        clock.shift(dt.timedelta(seconds=settings.ACCESS_PIN_BLOCK_SECONDS + 1))
        assert (
            check(client, key, {"access_point": site.door.external_id, "pin": pin}).json()["allowed"] is True
        )
    assert AccessEvent.objects.filter(reason__in=["slow_down", "blocked"]).count() == 2


def test_after_a_block_runs_out_wrong_pins_are_counted_from_one_again(
    client, site, tenant, booking, settings
) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 3
    settings.ACCESS_PIN_BLOCK_AFTER = 4
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = site.holder(tenant).pin
    wrong = {"access_point": site.door.external_id, "pin": "1" * 6 if pin != "1" * 6 else "2" * 6}
    start = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(4):
            check(client, key, wrong)
            clock.shift(dt.timedelta(seconds=10))
        assert check(client, key, wrong).json()["reason"] == "blocked"
        clock.shift(dt.timedelta(seconds=settings.ACCESS_PIN_BLOCK_SECONDS))
        # Two wrong PINs after the block: below the slow-down again, so the right PIN opens at once.
        assert [check(client, key, wrong).json()["reason"] for _ in range(2)] == ["unknown_pin"] * 2
        right = {"access_point": site.door.external_id, "pin": pin}
        assert check(client, key, right).json()["allowed"] is True
        assert check(client, key, wrong).json()["reason"] == "unknown_pin"  # the third
        assert check(client, key, wrong).json()["reason"] == "slow_down"
    door = AccessPoint.objects.get(pk=site.door.pk)
    assert door.wrong_pins == 3 and door.pins_blocked_until is None


def test_wrong_pins_older_than_the_window_no_longer_count(client, site, tenant, booking, settings) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 2
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = site.holder(tenant).pin
    wrong = {"access_point": site.door.external_id, "pin": "1" * 6 if pin != "1" * 6 else "2" * 6}
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC), tick=False) as clock:
        check(client, key, wrong)
        check(client, key, wrong)
        assert check(client, key, wrong).json()["reason"] == "slow_down"
        clock.shift(dt.timedelta(seconds=settings.ACCESS_PIN_FAILURE_WINDOW_SECONDS + 1))
        assert check(client, key, wrong).json()["reason"] == "unknown_pin"
        assert check(client, key, wrong).json()["reason"] == "unknown_pin"  # the second of a new count


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_wrong_pins_typed_at_the_same_moment_all_count(site, tenant, booking, settings) -> None:
    settings.ACCESS_PIN_SLOW_AFTER = 100
    settings.ACCESS_PIN_BLOCK_AFTER = 100
    door = Door.of(site.door)
    pin = site.holder(tenant).pin
    wrong = "1" * 6 if pin != "1" * 6 else "2" * 6
    barrier = threading.Barrier(8)

    def type_a_wrong_pin() -> None:
        try:
            barrier.wait()
            access_decide(door=door, pin=wrong, channel="device", when=NOW)
        finally:
            connection.close()

    threads = [threading.Thread(target=type_a_wrong_pin) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AccessPoint.objects.get(pk=site.door.pk).wrong_pins == 8
    assert AccessEvent.objects.filter(reason="unknown_pin").count() == 8


def test_the_openapi_document_describes_the_check(client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/access/check"]["post"]
    assert document["openapi"].startswith("3.")
    assert set(operation["responses"]) >= {"200", "401", "403"}
    assert (
        "outside_window"
        in document["components"]["schemas"]["AccessDecision"]["properties"]["reason"]["enum"]
    )


@time_machine.travel(NOW, tick=False)
def test_a_check_is_one_read_and_one_insert(
    client, site, tenant, booking, django_assert_max_num_queries
) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    pin = site.holder(tenant).pin
    # The device's first check of the minute: the door (its wrong-PIN counts and hours) with the
    # PIN's holder and grants; the event; the check noted on the device key.
    with django_assert_max_num_queries(3):
        assert check(client, key, {"access_point": site.door.external_id, "pin": pin}).json()["allowed"]
    # Within the minute: the read and the event only.
    with django_assert_max_num_queries(2):
        assert check(client, key, {"access_point": site.door.external_id, "pin": pin}).json()["allowed"]
    # Another access point's key: refused after the one read, nothing logged.
    with django_assert_max_num_queries(1):
        assert check(client, key, {"access_point": site.unit_lock.external_id, "pin": pin}).status_code == 403


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@time_machine.travel(NOW, tick=False)
def test_on_postgresql_a_connection_prepares_the_checks_statements_once(
    client, site, tenant, booking
) -> None:
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    body = {"access_point": site.door.external_id, "pin": site.holder(tenant).pin}

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY statement")
            return [row[0] for row in cursor.fetchall()]

    assert check(client, key, body).json()["allowed"]
    after_one = prepared()
    assert any("FROM access_devicekey dk" in statement for statement in after_one)
    assert any("INSERT INTO access_accessevent" in statement for statement in after_one)
    for _ in range(3):
        assert check(client, key, body).json()["allowed"]
    assert prepared() == after_one
    assert AccessEvent.objects.filter(allowed=True).count() == 4


@pytest.mark.skipif(connection.vendor != "sqlite", reason="AUTOINCREMENT is SQLite's")
def test_on_sqlite_events_are_numbered_without_autoincrement(client, site, tenant, booking) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [AccessEvent._meta.db_table])
        (table,) = cursor.fetchone()
    assert '"id" integer NOT NULL PRIMARY KEY' in table and "AUTOINCREMENT" not in table
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    body = {"access_point": site.door.external_id, "pin": site.holder(tenant).pin}
    with time_machine.travel(NOW, tick=False):
        check(client, key, body)
        check(client, key, body)
    first, second = AccessEvent.objects.order_by("pk").values_list("pk", flat=True)
    assert second == first + 1


def test_events_keep_their_references_without_database_constraints(client, site, tenant, booking) -> None:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, AccessEvent._meta.db_table)
    assert not [name for name, constraint in constraints.items() if constraint["foreign_key"]]
    key = device_key_issue(actor=Actor.system("t"), access_point=site.door)
    holder = site.holder(tenant)
    with time_machine.travel(NOW, tick=False):
        check(client, key, {"access_point": site.door.external_id, "pin": holder.pin})
    event = AccessEvent.objects.get()
    assert (event.access_point, event.holder, event.unit) == (site.door, holder, site.units[0])

    # The ORM still applies on_delete: the reference is cleared, the event stays.
    site.door.delete()
    event.refresh_from_db()
    assert (event.access_point_id, event.holder, event.allowed) == (None, holder, True)

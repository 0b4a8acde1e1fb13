import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from keyport.access.services import device_key_issue
from keyport.access.services.doors import Door, door_for_device
from keyport.audit.models import AuditEntry
from keyport.facilities.models import AccessPointKind, OpeningHours, UnitKind
from keyport.facilities.services import (
    access_point_create,
    location_create,
    location_set_opening_hours,
    unit_create,
    unit_map_access_points,
)
from tests.factories import AccessPointFactory, LocationFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_location_create_writes_an_audit_entry(actor, owner):
    location = location_create(
        actor=actor,
        name=" Lager Nord ",
        street="Nordweg 1",
        postal_code="20095",
        city="Hamburg",
        country="de",
        time_zone="Europe/Berlin",
    )
    assert location.name == "Lager Nord"
    assert location.country == "DE"
    entry = AuditEntry.objects.get(action="location.created")
    assert entry.target_id == location.pk
    assert entry.actor_id == owner.pk
    assert entry.location == location


def test_location_with_unknown_time_zone_is_refused_and_nothing_is_saved(actor):
    with pytest.raises(ValidationError) as error:
        location_create(
            actor=actor,
            name="Nowhere",
            street="x",
            postal_code="1",
            city="y",
            country="DE",
            time_zone="Europe/Atlantis",
        )
    assert "time_zone" in error.value.message_dict
    assert not AuditEntry.objects.exists()


def test_start_of_day_follows_the_location_time_zone():
    berlin = LocationFactory(time_zone="Europe/Berlin")
    austin = LocationFactory(time_zone="America/Chicago")
    day = dt.date(2026, 7, 1)
    assert berlin.start_of_day(day) == dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)
    assert austin.start_of_day(day) == dt.datetime(2026, 7, 1, 5, 0, tzinfo=dt.UTC)


def test_start_of_day_across_the_daylight_saving_change():
    berlin = LocationFactory(time_zone="Europe/Berlin")
    # Clocks go forward on 29 March 2026: that local day has 23 hours.
    march_29 = berlin.start_of_day(dt.date(2026, 3, 29))
    march_30 = berlin.start_of_day(dt.date(2026, 3, 30))
    assert march_30 - march_29 == dt.timedelta(hours=23)


def test_opening_hours_are_read_in_local_time(actor):
    austin = LocationFactory(time_zone="America/Chicago")
    location_set_opening_hours(
        actor=actor, location=austin, hours=[(day, dt.time(7), dt.time(20)) for day in range(7)]
    )
    # 12:59 UTC is 07:59 in Austin in summer (CDT, UTC-5): open. 12:00 UTC is 07:00: open at the edge.
    assert austin.is_open_at(dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC))
    assert not austin.is_open_at(dt.datetime(2026, 7, 1, 11, 59, 59, tzinfo=dt.UTC))
    # 01:00 UTC is 20:00 the evening before: closed at the closing minute.
    assert not austin.is_open_at(dt.datetime(2026, 7, 2, 1, 0, tzinfo=dt.UTC))
    assert austin.is_open_at(dt.datetime(2026, 7, 2, 0, 59, 59, tzinfo=dt.UTC))


def test_no_opening_hours_means_always_open():
    location = LocationFactory()
    assert location.is_open_at(dt.datetime(2026, 1, 1, 3, 0, tzinfo=dt.UTC))


def test_opening_hours_that_close_before_they_open_are_refused(actor):
    location = LocationFactory()
    with pytest.raises(ValidationError):
        location_set_opening_hours(actor=actor, location=location, hours=[(0, dt.time(18), dt.time(8))])
    assert not location.opening_hours.exists()


def test_unit_numbers_are_unique_per_location_only(actor):
    first, second = LocationFactory(), LocationFactory()
    unit_create(actor=actor, location=first, number="A001", size_m2=Decimal("3"))
    unit_create(actor=actor, location=second, number="A001", size_m2=Decimal("3"))
    with pytest.raises(ValidationError):
        unit_create(actor=actor, location=first, number="A001", size_m2=Decimal("3"))


def test_access_point_external_id_is_unique_per_location(actor):
    location = LocationFactory()
    access_point_create(
        actor=actor, location=location, name="Gate", kind=AccessPointKind.GATE, external_id="G-1"
    )
    with pytest.raises(ValidationError):
        access_point_create(
            actor=actor, location=location, name="Gate 2", kind=AccessPointKind.GATE, external_id="G-1"
        )


def test_mapping_access_points_records_what_changed(actor):
    unit = UnitFactory(kind=UnitKind.STORAGE_UNIT)
    gate = AccessPointFactory(location=unit.location, external_id="GATE")
    lock = AccessPointFactory(location=unit.location, external_id="LOCK")
    unit_map_access_points(actor=actor, unit=unit, access_points=[gate, lock])
    unit_map_access_points(actor=actor, unit=unit, access_points=[gate])
    assert list(unit.access_points.all()) == [gate]
    entries = AuditEntry.objects.filter(action="unit.access_mapped").order_by("id")
    assert [entry.details for entry in entries] == [
        {"added": ["GATE", "LOCK"], "removed": []},
        {"added": [], "removed": ["LOCK"]},
    ]


def test_mapping_an_access_point_of_another_location_is_refused(actor):
    unit = UnitFactory()
    elsewhere = AccessPointFactory()
    with pytest.raises(ValidationError, match="Not at this unit's location"):
        unit_map_access_points(actor=actor, unit=unit, access_points=[elsewhere])
    assert not unit.access_points.exists()
    assert not AuditEntry.objects.exists()


def test_mapping_the_same_access_points_again_writes_no_audit_entry(actor):
    unit = UnitFactory()
    gate = AccessPointFactory(location=unit.location)
    unit_map_access_points(actor=actor, unit=unit, access_points=[gate])
    unit_map_access_points(actor=actor, unit=unit, access_points=[gate])
    assert AuditEntry.objects.filter(action="unit.access_mapped").count() == 1


def test_mapping_a_unit_in_the_admin_goes_through_the_service_and_is_audited(admin_client):
    unit = UnitFactory()
    gate = AccessPointFactory(location=unit.location, external_id="GATE")
    elsewhere = AccessPointFactory(external_id="FAR")
    url = f"/admin/facilities/unit/{unit.pk}/change/"
    fields = {
        "location": unit.location.pk,
        "number": unit.number,
        "kind": unit.kind,
        "size_m2": "5.00",
        "status": unit.status,
    }
    refused = admin_client.post(url, {**fields, "mapped_access_points": [gate.pk, elsewhere.pk]})
    assert refused.status_code == 200 and "Not at this unit&#x27;s location" in refused.content.decode()
    assert not unit.access_mappings.exists()
    assert admin_client.post(url, {**fields, "mapped_access_points": [gate.pk]}).status_code == 302
    assert list(unit.access_mappings.values_list("access_point__external_id", flat=True)) == ["GATE"]
    entry = AuditEntry.objects.get(action="unit.access_mapped")
    assert entry.details["added"] == ["GATE"] and entry.actor_kind == "staff"


def test_the_admin_shows_but_does_not_change_the_access_provider_or_opening_hours(admin_client):
    location = LocationFactory()
    OpeningHours.objects.create(location=location, weekday=0, opens_at=dt.time(6), closes_at=dt.time(22))
    page = admin_client.get(f"/admin/facilities/location/{location.pk}/change/").content.decode()
    assert "Keyport access server" in page and 'name="access_provider"' not in page
    assert "06:00" in page and 'name="opening_hours-0-opens_at"' not in page


def test_the_door_check_reads_opening_hours_as_the_location_does(actor):
    """The device check reads the hours with its key, in one statement
    (keyport/access/services/doors.py); Location.is_open_at reads them through the ORM. Both must
    apply the same periods."""
    austin = LocationFactory(time_zone="America/Chicago")
    hours = [(day, dt.time(7), dt.time(20)) for day in range(6)] + [(6, dt.time(18), dt.time.min)]
    location_set_opening_hours(actor=actor, location=austin, hours=hours)
    access_point = AccessPointFactory(location=austin)
    from_device = door_for_device(device_key_issue(actor=actor, access_point=access_point))
    assert from_device is not None and len(from_device.opening_hours) == 7
    from_model = Door.of(access_point)
    second = dt.timedelta(seconds=1)
    edges = [
        dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC),  # Wednesday 07:00 in Austin
        dt.datetime(2026, 7, 2, 1, 0, tzinfo=dt.UTC),  # Wednesday 20:00
        dt.datetime(2026, 7, 5, 23, 0, tzinfo=dt.UTC),  # Sunday 18:00
        dt.datetime(2026, 7, 6, 5, 0, tzinfo=dt.UTC),  # Sunday 24:00, Monday 00:00
        dt.datetime(2026, 3, 8, 7, 59, 59, tzinfo=dt.UTC),  # the night clocks go forward
    ]
    for when in [instant + shift for instant in edges for shift in (-second, dt.timedelta(0), second)]:
        expected = austin.is_open_at(when)
        assert from_device.is_open_at(when) == expected and from_model.is_open_at(when) == expected, when


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_mappings_of_one_unit_at_the_same_moment_apply_one_after_the_other(monkeypatch):
    import threading

    from keyport.audit.services import Actor
    from keyport.facilities import services
    from keyport.facilities.models import UnitAccessPoint

    actor = Actor.system("test")
    location = LocationFactory()
    unit, gate = UnitFactory(location=location), AccessPointFactory(location=location)
    reading, release = threading.Event(), threading.Event()

    class SlowMappings:
        """The first mapping waits after reading the unit's mapping, before writing its own."""

        def __new__(cls, **fields):
            return UnitAccessPoint(**fields)

        class objects:  # noqa: N801
            @staticmethod
            def bulk_create(rows):
                reading.set()
                release.wait(timeout=10)
                return UnitAccessPoint.objects.bulk_create(rows)

    errors: list[BaseException] = []

    def map_gate() -> None:
        try:
            unit_map_access_points(actor=actor, unit=unit, access_points=[gate])
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    monkeypatch.setattr(services, "UnitAccessPoint", SlowMappings)
    first = threading.Thread(target=map_gate)
    first.start()
    assert reading.wait(timeout=10)
    monkeypatch.setattr(services, "UnitAccessPoint", UnitAccessPoint)
    second = threading.Thread(target=map_gate)
    second.start()
    second.join(timeout=1)
    release.set()
    first.join()
    second.join()
    assert errors == []
    assert list(unit.access_mappings.values_list("access_point_id", flat=True)) == [gate.pk]
    assert AuditEntry.objects.filter(action="unit.access_mapped").count() == 1

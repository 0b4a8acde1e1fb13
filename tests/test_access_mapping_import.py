import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.facilities.csv_imports import unit_mappings_import
from keyport.facilities.models import UnitAccessPoint
from keyport.staff.models import Role
from tests.factories import AccessPointFactory, LocationFactory, StaffUserFactory, UnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    location = LocationFactory(name="Lager Nord")
    UnitFactory(location=location, number="A001")
    UnitFactory(location=location, number="A002")
    UnitFactory(location=location, number="A003")
    for external_id in ["GATE-1", "DOOR-1", "LOCK-A001", "LOCK-A002"]:
        AccessPointFactory(location=location, external_id=external_id)
    return location


def mapped(location):
    rows = UnitAccessPoint.objects.filter(unit__location=location)
    return sorted(rows.values_list("unit__number", "access_point__external_id"))


def test_a_good_file_maps_every_unit_and_audits_each(actor, site):
    data = b"unit,access points\nA001,GATE-1,DOOR-1,LOCK-A001\na002 , gate-1 ,LOCK-A002\n"
    assert unit_mappings_import(actor=actor, location=site, data=data) == 2
    assert mapped(site) == [
        ("A001", "DOOR-1"),
        ("A001", "GATE-1"),
        ("A001", "LOCK-A001"),
        ("A002", "GATE-1"),
        ("A002", "LOCK-A002"),
    ]
    assert AuditEntry.objects.filter(action="unit.access_mapped").count() == 2


def test_one_bad_row_changes_nothing_and_every_error_names_its_line(actor, site):
    data = b"A001,GATE-1\nZ999,GATE-1\nA002,NOPE-1,NOPE-2\nA001,DOOR-1\nA003\n"
    with pytest.raises(ValidationError) as error:
        unit_mappings_import(actor=actor, location=site, data=data)
    assert error.value.message_dict["file"] == [
        "Line 2: there is no unit 'Z999' at Lager Nord.",
        "Line 3: unknown access points NOPE-1, NOPE-2 at Lager Nord.",
        "Line 4: unit A001 is already on line 1.",
        "Line 5: unit A003 has no access points after it.",
    ]
    assert mapped(site) == []
    assert not AuditEntry.objects.exists()


def test_access_points_of_another_location_are_unknown_here(actor, site):
    AccessPointFactory(external_id="ELSEWHERE-1")
    with pytest.raises(ValidationError, match="unknown access point ELSEWHERE-1"):
        unit_mappings_import(actor=actor, location=site, data=b"A001,ELSEWHERE-1\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file has no rows"),
        (b"\xff\xfe\x00A", "not UTF-8"),
        (b"A" * (2 * 1024 * 1024 + 1), "larger than 2 MB"),
        (b"A001,GATE-1\nA002," + b"x" * 200_000 + b"\n", "Line 2: a cell is longer than"),
    ],
)
def test_unreadable_files_are_refused(actor, site, data, message):
    with pytest.raises(ValidationError, match=message):
        unit_mappings_import(actor=actor, location=site, data=data)


def test_manager_uploads_from_the_location_page(client, site):
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(site)
    client.force_login(manager)
    url = reverse("dashboard:location_mapping_upload", args=[site.pk])
    response = client.post(url, {"file": SimpleUploadedFile("map.csv", b"A001,GATE-1\n")})
    assert response.status_code == 302
    assert mapped(site) == [("A001", "GATE-1")]
    page = client.get(response.headers["Location"]).content.decode()
    assert "Access points mapped for 1 unit." in page


def test_errors_are_shown_beside_the_upload_field(client, site):
    client.force_login(StaffUserFactory(role=Role.OWNER))
    url = reverse("dashboard:location_mapping_upload", args=[site.pk])
    response = client.post(url, {"file": SimpleUploadedFile("map.csv", b"Z1,GATE-1\n")})
    assert response.status_code == 400
    assert "Line 1: there is no unit &#x27;Z1&#x27; at Lager Nord." in response.content.decode()


def test_a_large_upload_is_refused_without_reading_it_whole(client, site, monkeypatch):
    from keyport.dashboard import views
    from keyport.facilities.mapping_import import MAX_BYTES

    read: list[int] = []

    def import_spy(*, data, **kwargs):
        read.append(len(data))
        return unit_mappings_import(data=data, **kwargs)

    monkeypatch.setattr(views, "unit_mappings_import", import_spy)
    client.force_login(StaffUserFactory(role=Role.OWNER))
    url = reverse("dashboard:location_mapping_upload", args=[site.pk])
    response = client.post(url, {"file": SimpleUploadedFile("map.csv", b"A001,GATE-1\n" * 500_000)})
    assert response.status_code == 400
    assert "larger than 2 MB" in response.content.decode()
    assert read == [MAX_BYTES + 1]
    assert not UnitAccessPoint.objects.exists()


def test_employees_cannot_change_the_mapping(client, site):
    client.force_login(StaffUserFactory(role=Role.EMPLOYEE, all_locations=True))
    url = reverse("dashboard:location_mapping_upload", args=[site.pk])
    response = client.post(url, {"file": SimpleUploadedFile("map.csv", b"A001,GATE-1\n")})
    assert response.status_code == 403
    assert mapped(site) == []
    page = client.get(reverse("dashboard:location_detail", args=[site.pk])).content.decode()
    assert "Map access points by CSV" not in page


def test_a_manager_of_another_location_gets_404(client, site):
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(LocationFactory())
    client.force_login(manager)
    url = reverse("dashboard:location_mapping_upload", args=[site.pk])
    response = client.post(url, {"file": SimpleUploadedFile("map.csv", b"A001,GATE-1\n")})
    assert response.status_code == 404

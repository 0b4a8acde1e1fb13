import datetime as dt

import pytest
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.staff.models import Role
from tests.factories import LocationFactory, StaffUserFactory

pytestmark = pytest.mark.django_db


def settings_post(location, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "name": location.name,
        "street": location.street,
        "postal_code": location.postal_code,
        "city": location.city,
        "country": location.country,
        "time_zone": location.time_zone,
        "hours-TOTAL_FORMS": "7",
        "hours-INITIAL_FORMS": "7",
        "hours-MIN_NUM_FORMS": "7",
        "hours-MAX_NUM_FORMS": "7",
    }
    for day in range(5):
        data |= {
            f"hours-{day}-is_open": "on",
            f"hours-{day}-opens_at": "06:00",
            f"hours-{day}-closes_at": "22:00",
        }
    data.update(overrides)
    return data


def test_owner_changes_time_zone_and_opening_hours(client):
    location = LocationFactory(time_zone="Europe/Berlin")
    client.force_login(StaffUserFactory(role=Role.OWNER))
    url = reverse("dashboard:location_settings", args=[location.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, settings_post(location, time_zone="Europe/Lisbon"))
    assert response.status_code == 302
    location.refresh_from_db()
    assert location.time_zone == "Europe/Lisbon"
    assert [(h.weekday, h.opens_at, h.closes_at) for h in location.opening_hours.all()] == [
        (day, dt.time(6), dt.time(22)) for day in range(5)
    ]
    entry = AuditEntry.objects.get(action="location.updated")
    assert entry.details == {"changed": {"time_zone": ["Europe/Berlin", "Europe/Lisbon"]}}
    assert AuditEntry.objects.filter(action="location.opening_hours_set").count() == 1


def test_bad_input_is_shown_beside_its_field_and_changes_nothing(client):
    location = LocationFactory(time_zone="Europe/Berlin")
    client.force_login(StaffUserFactory(role=Role.OWNER))
    url = reverse("dashboard:location_settings", args=[location.pk])
    response = client.post(
        url, settings_post(location, name="", **{"hours-0-opens_at": "22:00", "hours-0-closes_at": "06:00"})
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "Closing time must be after opening time." in page
    location.refresh_from_db()
    assert location.name and not location.opening_hours.exists()
    assert not AuditEntry.objects.exists()


def test_an_open_day_needs_both_times(client):
    location = LocationFactory()
    client.force_login(StaffUserFactory(role=Role.OWNER))
    url = reverse("dashboard:location_settings", args=[location.pk])
    response = client.post(url, settings_post(location, **{"hours-6-is_open": "on"}))
    assert response.status_code == 400
    assert "Give the opening time." in response.content.decode()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_owners_change_location_settings(client, role):
    location = LocationFactory()
    client.force_login(StaffUserFactory(role=role))
    url = reverse("dashboard:location_settings", args=[location.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, settings_post(location, name="Hijacked")).status_code == 403
    location.refresh_from_db()
    assert location.name != "Hijacked"

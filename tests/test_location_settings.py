import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.urls import reverse

from keyport.access import location_settings
from keyport.access.models import SensorbergAccount
from keyport.audit.models import AuditEntry
from keyport.staff.models import Role
from tests.factories import LocationFactory, StaffUserFactory
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.django_db


def settings_post(location, **overrides):
    data = {
        "name": location.name,
        "street": location.street,
        "postal_code": location.postal_code,
        "city": location.city,
        "country": location.country,
        "time_zone": location.time_zone,
        "access_provider": location.access_provider,
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


@pytest.mark.parametrize("total", ["0", "3", "8"])
def test_opening_hours_need_all_seven_days_and_no_more(client, total):
    location = LocationFactory()
    location.opening_hours.create(weekday=0, opens_at=dt.time(8), closes_at=dt.time(18))
    client.force_login(StaffUserFactory(role=Role.OWNER))
    url = reverse("dashboard:location_settings", args=[location.pk])
    extra = {"hours-7-is_open": "on", "hours-7-opens_at": "06:00", "hours-7-closes_at": "22:00"}
    response = client.post(url, settings_post(location, **{"hours-TOTAL_FORMS": total}, **extra))
    assert response.status_code == 400
    assert "Please submit" in response.content.decode()
    assert [(h.weekday, h.opens_at) for h in location.opening_hours.all()] == [(0, dt.time(8))]
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_owners_change_location_settings(client, role):
    location = LocationFactory()
    client.force_login(StaffUserFactory(role=role, all_locations=True))
    url = reverse("dashboard:location_settings", args=[location.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, settings_post(location, name="Hijacked")).status_code == 403
    location.refresh_from_db()
    assert location.name != "Hijacked"


# Access provider and Test connection ----------------------------------------------------------------


def sensorberg_post(location, base_url, secret=CLIENT_SECRET, **overrides):
    return settings_post(
        location,
        access_provider="sensorberg",
        sensorberg_base_url=base_url,
        sensorberg_client_id=CLIENT_ID,
        sensorberg_client_secret=secret,
        **overrides,
    )


def test_owner_connects_sensorberg_and_the_audit_never_holds_the_secret(owner_client, fake):
    location = LocationFactory()
    url = reverse("dashboard:location_settings", args=[location.pk])
    assert "not set" in owner_client.get(url).content.decode()
    response = owner_client.post(url, sensorberg_post(location, fake.base_url))
    assert response.status_code == 302
    location.refresh_from_db()
    account = SensorbergAccount.objects.get(location=location)
    assert location.access_provider == "sensorberg"
    assert (account.base_url, account.client_id, account.client_secret) == (
        fake.base_url,
        CLIENT_ID,
        CLIENT_SECRET,
    )
    entry = AuditEntry.objects.get(action="location.access_provider_set")
    assert entry.details["changed"]["access_provider"] == ["builtin", "sensorberg"]
    assert entry.details["changed"]["sensorberg_client_secret"] == "set"
    assert CLIENT_SECRET not in str(AuditEntry.objects.values_list("details", flat=True))
    page = owner_client.get(url).content.decode()
    assert CLIENT_SECRET not in page
    assert ">set</span>" in page and fake.base_url in page


def test_a_blank_secret_keeps_the_stored_one(owner_client, fake):
    location = LocationFactory(access_provider="sensorberg")
    SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id="old-id", client_secret=CLIENT_SECRET
    )
    url = reverse("dashboard:location_settings", args=[location.pk])
    assert owner_client.post(url, sensorberg_post(location, fake.base_url, secret="")).status_code == 302
    account = SensorbergAccount.objects.get(location=location)
    assert (account.client_id, account.client_secret) == (CLIENT_ID, CLIENT_SECRET)
    entry = AuditEntry.objects.get(action="location.access_provider_set")
    assert entry.details == {"changed": {"sensorberg_client_id": ["old-id", CLIENT_ID], "grants_pushed": 0}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"sensorberg_base_url": "http://sensorberg.example.com"}, "starting with https://"),
        ({"sensorberg_base_url": "ftp://sensorberg.example.com"}, "starting with https://"),
        ({"sensorberg_base_url": ""}, "Enter the Sensorberg API&#x27;s base URL."),
        ({"sensorberg_client_id": ""}, "Enter the client id Sensorberg issued."),
        ({"sensorberg_client_secret": ""}, "Enter the client secret Sensorberg issued."),
    ],
)
def test_sensorberg_needs_an_https_url_a_client_id_and_a_secret(owner_client, overrides, message):
    location = LocationFactory()
    url = reverse("dashboard:location_settings", args=[location.pk])
    data = sensorberg_post(location, "https://api.sensorberg.example.com")
    response = owner_client.post(url, data | overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    location.refresh_from_db()
    assert location.access_provider == "builtin"
    assert not SensorbergAccount.objects.exists() and not AuditEntry.objects.exists()


def test_test_connection_lists_the_access_groups_and_changes_nothing(owner_client, fake):
    location = LocationFactory()
    fake.add_group("U-001")
    fake.add_group("U-002")
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(
        url, sensorberg_post(location, fake.base_url), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "Token: ok. Listing groups: 2 access groups. Units matched: 0 of 0." in page
        and "alert-success" in page
    )
    assert CLIENT_SECRET not in page
    location.refresh_from_db()
    assert location.access_provider == "builtin"
    assert not SensorbergAccount.objects.exists() and not AuditEntry.objects.exists()


def test_test_connection_uses_the_stored_secret_when_the_field_is_blank(owner_client, fake):
    location = LocationFactory(access_provider="sensorberg")
    SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, fake.base_url, secret=""))
    assert "Token: ok. Listing groups: 0 access groups." in response.content.decode()


def test_test_connection_tells_a_wrong_secret(owner_client, fake):
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, fake.base_url, secret="wrong"))
    page = response.content.decode()
    assert "Sensorberg refused the client id and secret." in page and "alert-danger" in page
    assert not SensorbergAccount.objects.exists()


def test_test_connection_tells_a_server_that_is_down(owner_client, fake):
    location = LocationFactory()
    base_url = fake.base_url
    fake.stop()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, base_url))
    assert f"Could not reach Sensorberg at {base_url}: connection refused." in response.content.decode()


def test_test_connection_tells_a_timeout(owner_client, fake, monkeypatch):
    monkeypatch.setattr(location_settings, "CONNECTION_TEST_TIMEOUT_SECONDS", 0.3)
    fake.slow_next(1, 1.0)
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, fake.base_url))
    assert "Sensorberg did not answer within 0.3 seconds." in response.content.decode()


def test_test_connection_for_the_builtin_server_needs_nothing(owner_client):
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, settings_post(location))
    assert "built-in access server needs no connection" in response.content.decode()


def test_test_connection_names_what_is_missing(owner_client):
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, settings_post(location, access_provider="sensorberg"))
    assert "Not tested. Enter the Sensorberg API&#x27;s base URL." in response.content.decode()


def test_test_connection_to_another_address_never_sends_the_stored_secret(owner_client, fake):
    location = LocationFactory(access_provider="sensorberg")
    SensorbergAccount.objects.create(
        location=location,
        base_url="https://api.sensorberg.example.com",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, fake.base_url, secret=""))
    assert "Not tested. Enter the client secret again for this base URL." in response.content.decode()
    assert not fake.state.answers and not fake.state.tokens


def test_a_new_base_url_needs_the_secret_again(owner_client, fake):
    location = LocationFactory(access_provider="sensorberg")
    SensorbergAccount.objects.create(
        location=location,
        base_url="https://api.sensorberg.example.com",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    url = reverse("dashboard:location_settings", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, fake.base_url, secret=""))
    assert response.status_code == 400
    assert "Enter the client secret again for this base URL." in response.content.decode()
    account = SensorbergAccount.objects.get(location=location)
    assert account.base_url == "https://api.sensorberg.example.com"
    assert not AuditEntry.objects.exists() and not fake.state.answers
    assert owner_client.post(url, sensorberg_post(location, fake.base_url)).status_code == 302
    assert SensorbergAccount.objects.get(location=location).base_url == fake.base_url


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
def test_only_owners_test_the_connection(client, role, fake):
    location = LocationFactory()
    client.force_login(StaffUserFactory(role=role, all_locations=True))
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    assert client.post(url, sensorberg_post(location, fake.base_url)).status_code == 403


def test_switching_back_to_the_builtin_server_keeps_the_sensorberg_login(owner_client, fake):
    location = LocationFactory(access_provider="sensorberg")
    SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    url = reverse("dashboard:location_settings", args=[location.pk])
    response = owner_client.post(url, settings_post(location, access_provider="builtin"))
    assert response.status_code == 302
    location.refresh_from_db()
    assert location.access_provider == "builtin"
    account = SensorbergAccount.objects.get(location=location)
    assert (account.base_url, account.client_id, account.client_secret) == (
        fake.base_url,
        CLIENT_ID,
        CLIENT_SECRET,
    )
    page = owner_client.get(url).content.decode()
    assert ">set</span>" in page and fake.base_url in page


@pytest.fixture
def garbled_sensorberg(request, settings) -> Iterator[str]:
    """A local server that answers every call 200 with the test's body: not what Sensorberg sends."""
    settings.SENSORBERG_ALLOW_PRIVATE_HOSTS = True
    body: bytes = request.param

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "garbled_sensorberg",
    [b"<html>Maintenance</html>", b'{"token_type": "Bearer"}', b'["not", "an", "object"]'],
    indirect=True,
)
def test_test_connection_tells_an_answer_it_does_not_understand(owner_client, garbled_sensorberg):
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, garbled_sensorberg))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sensorberg answered with something Keyport does not understand." in page
    assert "alert-danger" in page
    assert "Maintenance" not in page and "not an object" not in page  # the answer's body is never shown

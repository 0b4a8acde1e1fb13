"""Sensorberg's calls go through one pooled httpx client per process and base URL, with
explicit timeouts, a transport tests can replace, closed when the login changes."""

import httpx
import pytest

from keyport.access.location_settings import SensorbergCredentials, location_set_access_provider
from keyport.access.models import SensorbergAccount
from keyport.access.providers.sensorberg import SensorbergProvider, connections
from keyport.access.providers.sensorberg.provider import CONNECT_TIMEOUT_SECONDS, forget_cached_state
from keyport.audit.services import Actor
from keyport.facilities.models import Location
from tests.factories import LocationFactory
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg

pytestmark = pytest.mark.django_db


def provider_for_fake(fake: FakeSensorberg) -> SensorbergProvider:
    return SensorbergProvider(base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def test_many_calls_to_one_base_url_share_one_connection(fake) -> None:
    for number in range(10):
        fake.add_group(f"A{number:03}")
    provider = provider_for_fake(fake)
    for number in range(10):
        provider.memberships(f"A{number:03}")
    assert len(fake.state.answers) == 21  # the token, then a lookup and a list a unit
    assert fake.state.connections == 1


def test_the_transport_can_be_replaced_and_every_call_has_explicit_timeouts(monkeypatch, settings) -> None:
    settings.SENSORBERG_ALLOW_PRIVATE_HOSTS = True
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "token_type": "bearer", "expires_in": 60})
        return httpx.Response(200, json={"data": [], "links": {"next": None}})

    monkeypatch.setattr(connections, "transport_factory", lambda: httpx.MockTransport(answer))
    forget_cached_state()
    check = SensorbergProvider(
        base_url="https://sensorberg.example.net", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    ).test_connection(timeout=4)
    forget_cached_state()
    assert check.ok
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/oauth/token"), ("GET", "/v1/access-groups")]
    assert seen[1].headers["Accept"] == "application/vnd.api+json"
    assert seen[1].headers["Authorization"] == "Bearer t"
    timeouts = seen[1].extensions["timeout"]
    assert timeouts == {"connect": CONNECT_TIMEOUT_SECONDS, "read": 4, "write": 4, "pool": 4}


def test_one_client_per_process_and_base_url(monkeypatch) -> None:
    first = connections.client_for("https://a.example.net")
    assert connections.client_for("https://a.example.net/") is first
    assert connections.client_for("https://b.example.net") is not first
    monkeypatch.setattr(connections.os, "getpid", lambda: -1)  # a forked worker
    assert connections.client_for("https://a.example.net") is not first
    forget_cached_state()
    assert first.is_closed


def test_a_client_idle_a_while_is_closed(monkeypatch) -> None:
    idle = connections.client_for("https://a.example.net")
    monkeypatch.setattr(connections, "CLIENT_IDLE_SECONDS", -1)
    connections.client_for("https://b.example.net")
    assert idle.is_closed
    forget_cached_state()


def test_a_changed_login_closes_the_client_of_its_old_base_url(
    fake, django_capture_on_commit_callbacks
) -> None:
    location = LocationFactory(access_provider="sensorberg")
    SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    fake.add_group("A001")
    SensorbergProvider.for_location(location).memberships("A001")
    pooled = connections.client_for(fake.base_url)
    fake.state.clients[CLIENT_ID] = "rotated"
    with django_capture_on_commit_callbacks(execute=True):
        location_set_access_provider(
            actor=Actor.system("tests"),
            location=location,
            provider="sensorberg",
            sensorberg=SensorbergCredentials(
                base_url=fake.base_url, client_id=CLIENT_ID, client_secret="rotated"
            ),
        )
    assert pooled.is_closed
    fresh = Location.objects.get(pk=location.pk)  # the login as saved, not as first loaded
    SensorbergProvider.for_location(fresh).memberships("A001")  # a new client, new connections
    assert connections.client_for(fake.base_url) is not pooled

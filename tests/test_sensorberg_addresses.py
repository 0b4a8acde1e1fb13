"""Keyport sends the Sensorberg client secret only to public addresses, judged by what the host
resolves to; the owner sees the provider's HTTP status, never its answer's body."""

import socket
from collections.abc import Iterator

import pytest
from django.urls import reverse

from keyport.access.models import SensorbergAccount
from keyport.access.providers import ProviderError
from keyport.access.providers.sensorberg import SensorbergProvider
from keyport.access.providers.sensorberg.connections import close_clients
from keyport.access.providers.sensorberg.provider import forget_cached_state
from keyport.audit.models import AuditEntry
from tests.factories import LocationFactory
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg
from tests.test_location_settings import sensorberg_post

pytestmark = pytest.mark.django_db
REAL_GETADDRINFO = socket.getaddrinfo
REFUSED = "which is not a public internet address"


@pytest.fixture
def local_server() -> Iterator[FakeSensorberg]:
    """A fake Sensorberg on 127.0.0.1 that the settings do not allow (unlike the `fake` fixture):
    whatever reaches it shows in its `answers`."""
    server = FakeSensorberg().start()
    yield server
    server.stop()
    forget_cached_state()


def resolve(monkeypatch, names: dict[str, list[str]]) -> None:
    """Names resolve to these addresses, as a DNS server could make them; others as they do."""

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in names[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def beside_the_url_field(page: str) -> str:
    marker = 'id="id_sensorberg_base_url-error">'
    assert marker in page, "no error beside the base URL field"
    return page.split(marker, 1)[1].split("</div>", 1)[0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_test_connection_refuses_a_loopback_host_and_sends_it_nothing(owner_client, local_server, host):
    location = LocationFactory()
    base_url = local_server.base_url.replace("127.0.0.1", host)
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    page = owner_client.post(url, sensorberg_post(location, base_url)).content.decode()
    assert "127.0.0.1" in beside_the_url_field(page) and "not a public internet address" in page
    assert "Not tested." in page and "alert-danger" in page
    assert local_server.state.answers == [] and local_server.state.tokens == {}
    assert not SensorbergAccount.objects.exists() and not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("base_url", "names", "named"),
    [
        # A public name whose DNS record points into the network Keyport runs in, among public ones.
        ("https://sensorberg.example.net", {"sensorberg.example.net": ["8.8.8.8", "10.1.2.3"]}, "10.1.2.3"),
        ("https://169.254.169.254/latest/meta-data", {}, "169.254.169.254"),
        ("https://[::1]:8443", {}, "::1"),
        ("https://[::ffff:10.0.0.1]", {}, "::ffff:10.0.0.1"),
        ("https://0.0.0.0", {}, "0.0.0.0"),  # noqa: S104 (refused, not bound)
        ("https://224.0.0.1", {}, "224.0.0.1"),
    ],
)
def test_test_connection_refuses_hosts_that_resolve_to_private_addresses(
    owner_client, monkeypatch, base_url, names, named
):
    resolve(monkeypatch, names)
    connections = []
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: connections.append(args))
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    page = owner_client.post(url, sensorberg_post(location, base_url)).content.decode()
    assert named in beside_the_url_field(page) and "not a public internet address" in page
    assert connections == []


def test_saving_a_private_base_url_is_refused_beside_the_field_and_changes_nothing(owner_client, monkeypatch):
    resolve(monkeypatch, {"sensorberg.corp.example": ["192.168.1.20"]})
    location = LocationFactory()
    url = reverse("dashboard:location_settings", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, "https://sensorberg.corp.example"))
    assert response.status_code == 400
    assert "sensorberg.corp.example resolves to 192.168.1.20" in beside_the_url_field(
        response.content.decode()
    )
    location.refresh_from_db()
    assert location.access_provider == "builtin"
    assert not SensorbergAccount.objects.exists() and not AuditEntry.objects.exists()


def test_a_public_base_url_is_saved(owner_client, monkeypatch):
    resolve(monkeypatch, {"api.sensorberg.example.com": ["8.8.8.8", "2001:4860:4860::8888"]})
    location = LocationFactory()
    url = reverse("dashboard:location_settings", args=[location.pk])
    response = owner_client.post(url, sensorberg_post(location, "https://api.sensorberg.example.com"))
    assert response.status_code == 302
    assert SensorbergAccount.objects.get(location=location).base_url == "https://api.sensorberg.example.com"


def test_a_public_host_is_called_at_the_very_address_that_was_checked(local_server, monkeypatch):
    # The name resolves to a public address; the connection to it is led to the local server.
    resolve(monkeypatch, {"sensorberg.example.net": ["8.8.8.8"]})
    real_create_connection = socket.create_connection
    connected_to = []

    def create_connection(address, *args, **kwargs):
        connected_to.append(address)
        return real_create_connection(local_server.server.server_address[:2], *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    local_server.add_group("U-001")
    provider = SensorbergProvider(
        base_url="http://sensorberg.example.net:8080", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    check = provider.test_connection(timeout=2)
    assert (check.ok, check.message, check.status_text) == (
        True,
        "Token: ok. Listing groups: 1 access group. Units matched: 0 of 0.",
        "HTTP 200 OK",
    )
    # One pooled connection, opened to the address checked, for the token and the group list.
    assert connected_to == [("8.8.8.8", 8080)]
    # A connection opened later is checked afresh: the name now points into the network.
    close_clients()
    resolve(monkeypatch, {"sensorberg.example.net": ["8.8.8.8", "10.0.0.7"]})
    check = provider.test_connection(timeout=2)
    assert not check.ok and "resolves to 10.0.0.7" in check.message
    assert connected_to == [("8.8.8.8", 8080)]


def test_a_name_that_turns_private_after_the_check_is_refused_at_the_call(monkeypatch):
    """Checked at the address connected to: a DNS answer that changes between the settings'
    check and the call (DNS rebinding), or an account saved before, gets nothing either."""
    resolve(monkeypatch, {"sensorberg.example.net": ["10.0.0.7"]})
    connections = []
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: connections.append(args))
    provider = SensorbergProvider(
        base_url="https://sensorberg.example.net", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    with pytest.raises(ProviderError, match="sensorberg.example.net resolves to 10.0.0.7"):
        provider.memberships("A001")
    assert connections == []
    check = provider.test_connection(timeout=1)
    assert not check.ok and "resolves to 10.0.0.7" in check.message and connections == []


def test_test_connection_shows_the_providers_status_never_its_body(owner_client, fake):
    fake.answer_next("/oauth/token", {"error": "db at 10.9.8.7 said: password hunter2"}, status=500)
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    page = owner_client.post(url, sensorberg_post(location, fake.base_url)).content.decode()
    assert "HTTP 500 Internal Server Error" in page
    assert "Sensorberg answered 500 to POST /oauth/token." in page
    assert "hunter2" not in page and "10.9.8.7" not in page


def test_test_connection_shows_a_refused_secret_with_its_status(owner_client, fake):
    location = LocationFactory()
    url = reverse("dashboard:location_test_connection", args=[location.pk])
    page = owner_client.post(url, sensorberg_post(location, fake.base_url, secret="wrong")).content.decode()
    assert "HTTP 401 Unauthorized" in page and "Sensorberg refused the client id and secret." in page
    assert "invalid_client" not in page

"""Sensorberg's token call as the vendor publishes it: form-encoded client credentials with
scope=app, a bearer token renewed before it expires and once on a 401, revoked when the login
changes."""

import datetime as dt
import urllib.error
import urllib.parse
import urllib.request

import pytest
import time_machine
from django.utils import timezone

from keyport.access.location_settings import SensorbergCredentials, location_set_access_provider
from keyport.access.models import SensorbergAccount
from keyport.access.providers import ProviderError
from keyport.access.providers.sensorberg import SensorbergProvider
from keyport.access.providers.sensorberg import provider as sensorberg_provider
from keyport.access.providers.sensorberg.json_api import NOT_UNDERSTOOD
from keyport.audit.services import Actor
from tests.factories import LocationFactory
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def provider_for_fake(fake: FakeSensorberg, **kwargs) -> SensorbergProvider:
    return SensorbergProvider(
        base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs
    )


def token_posts(fake: FakeSensorberg) -> int:
    return len([a for a in fake.state.answers if a[:2] == ("POST", "/oauth/token")])


def post_form(fake: FakeSensorberg, path: str, form: dict[str, str]) -> int:
    request = urllib.request.Request(fake.base_url + path, data=urllib.parse.urlencode(form).encode())  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_token_is_asked_for_with_the_client_credentials_and_scope_app(fake) -> None:
    fake.add_group("A001")
    provider_for_fake(fake).memberships("A001")
    assert fake.state.token_requests == [
        {
            "grant_type": ["client_credentials"],
            "client_id": [CLIENT_ID],
            "client_secret": [CLIENT_SECRET],
            "scope": ["app"],
        }
    ]


@pytest.mark.parametrize(("scope", "status"), [(None, 400), ("me", 400), ("app", 200)])
def test_the_fake_refuses_a_token_request_without_scope_app(fake, scope, status) -> None:
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert post_form(fake, "/oauth/token", form | ({"scope": scope} if scope else {})) == status


@pytest.mark.parametrize("token_type", ["bearer", "Bearer", "BEARER"])
def test_a_bearer_token_is_taken_whatever_the_case_of_its_type(fake, token_type) -> None:
    fake.state.token_type = token_type
    fake.add_group("A001")
    assert provider_for_fake(fake).memberships("A001") == {}


@pytest.mark.parametrize("token_type", ["mac", "", None])
def test_a_token_of_another_type_is_not_understood(fake, token_type) -> None:
    fake.answer_next("/oauth/token", {"access_token": "abc", "token_type": token_type, "expires_in": 60})
    with pytest.raises(ProviderError, match=NOT_UNDERSTOOD):
        provider_for_fake(fake).memberships("A001")


def test_a_token_is_renewed_before_it_expires_so_no_call_meets_a_401(fake) -> None:
    fake.state.token_lifetime = 120
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    with time_machine.travel(timezone.now(), tick=True) as traveller:
        provider.memberships("A001")
        traveller.shift(dt.timedelta(seconds=60))
        provider.memberships("A001")  # the token still serves: 30 s of margin are left
        assert token_posts(fake) == 1
        traveller.shift(dt.timedelta(seconds=31))  # 29 s before it expires
        provider.memberships("A001")
    assert token_posts(fake) == 2
    assert [a for a in fake.state.answers if a[2] == 401] == []


def test_a_401_fetches_a_fresh_token_and_tries_once_more(fake) -> None:
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.memberships("A001")
    fake.expire_tokens()  # revoked at the vendor before its time
    assert provider.memberships("A001") == {}
    assert token_posts(fake) == 2
    assert [a[2] for a in fake.state.answers if a[2] == 401] == [401]


def test_a_secret_the_vendor_refuses_fails_with_its_401_after_one_try_more(fake) -> None:
    provider = SensorbergProvider(base_url=fake.base_url, client_id=CLIENT_ID, client_secret="wrong")
    with pytest.raises(ProviderError) as raised:
        provider.memberships("A001")
    assert raised.value.status == 401 and token_posts(fake) == 2


def connected_location(fake: FakeSensorberg):
    location = LocationFactory(access_provider="sensorberg")
    account = SensorbergAccount.objects.create(
        location=location, base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    fake.add_group("A001")
    SensorbergProvider.for_location(location).memberships("A001")
    account.refresh_from_db()
    return location, account


def test_the_token_is_saved_with_the_login_and_shared_by_another_process(fake) -> None:
    location, account = connected_location(fake)
    assert account.access_token in fake.state.tokens
    assert account.token_expires_at is not None
    assert abs((account.token_expires_at - timezone.now()).total_seconds() - 3600) < 5
    sensorberg_provider.forget_cached_state()  # as a worker starting afresh
    SensorbergProvider.for_location(location).memberships("A001")
    assert token_posts(fake) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"client_secret": "rotated-secret"},  # the vendor takes only the new secret now
        {"client_id": "second-client", "client_secret": "second-secret"},
    ],
)
def test_a_changed_login_revokes_the_token_issued_to_the_old_one(
    fake, django_capture_on_commit_callbacks, change
) -> None:
    location, account = connected_location(fake)
    old_token = account.access_token
    if "client_id" in change:
        fake.add_client(change["client_id"], change["client_secret"])
    else:
        fake.state.clients[CLIENT_ID] = change["client_secret"]
    credentials = SensorbergCredentials(
        base_url=fake.base_url,
        client_id=change.get("client_id", CLIENT_ID),
        client_secret=change["client_secret"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        location_set_access_provider(
            actor=ACTOR, location=location, provider="sensorberg", sensorberg=credentials
        )
    assert fake.state.revoked == [old_token] and old_token not in fake.state.tokens
    account.refresh_from_db()
    assert (account.access_token, account.token_expires_at) == ("", None)
    assert (fake.base_url, CLIENT_ID) not in sensorberg_provider._tokens  # forgotten in this process too


def test_an_unchanged_login_keeps_its_token(fake, django_capture_on_commit_callbacks) -> None:
    location, account = connected_location(fake)
    credentials = SensorbergCredentials(base_url=fake.base_url, client_id=CLIENT_ID)
    with django_capture_on_commit_callbacks(execute=True):
        location_set_access_provider(
            actor=ACTOR, location=location, provider="sensorberg", sensorberg=credentials
        )
    assert fake.state.revoked == []
    assert SensorbergAccount.objects.get(pk=account.pk).access_token == account.access_token


def test_the_fake_answers_a_revocation_of_an_unknown_token_with_200(fake) -> None:
    form = {"token": "nope", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    assert post_form(fake, "/oauth/revoke", form) == 200
    assert post_form(fake, "/oauth/revoke", form | {"client_secret": "wrong"}) == 401

"""Sensorberg's resources speak JSON:API: its media type both ways, documents of data with type,
id and attributes, lists followed over `links.next`, errors read from the `errors` array."""

import json
import urllib.error
import urllib.request

import pytest
from django.utils import timezone

from keyport.access.models import AccessGrant, SyncState
from keyport.access.providers import ProviderError
from keyport.access.providers.sensorberg import SensorbergProvider
from keyport.access.providers.sensorberg.json_api import NOT_UNDERSTOOD
from keyport.access.providers.sensorberg.memberships import membership_body
from tests import cast
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg
from tests.test_sensorberg import connect, drain

pytestmark = pytest.mark.django_db
KEY = "00000000-0000-0000-0000-000000000001"


def provider_for_fake(fake: FakeSensorberg) -> SensorbergProvider:
    return SensorbergProvider(base_url=fake.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
def grant(site, tenant) -> AccessGrant:
    cast.book(tenant, site, starts_on=timezone.localdate())
    return AccessGrant.objects.select_related("holder", "unit").get(
        holder=site.holder(tenant), unit=site.units[0]
    )


def gets_of(fake: FakeSensorberg, path: str) -> list[str]:
    return [p for method, p, _ in fake.state.answers if method == "GET" and p.split("?")[0] == path]


def put_to_fake(fake: FakeSensorberg, path: str, body: bytes, content_type: str) -> int:
    token = provider_for_fake(fake)._token()
    request = urllib.request.Request(  # noqa: S310
        fake.base_url + path,
        data=body,
        method="PUT",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Accept": "application/vnd.api+json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_push_is_a_json_api_document_of_the_membership(fake, grant) -> None:
    fake.add_group("A001")
    provider_for_fake(fake).push(grant, idempotency_key=KEY)
    assert fake.members("A001") == {grant.membership_ref: membership_body(grant)}
    assert ("PUT", 200) in [(method, status) for method, _, status in fake.state.answers]


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 415),
        ("application/vnd.api+json; charset=utf-8", 415),
        ("application/vnd.api+json", 200),
    ],
)
def test_the_fake_takes_a_body_only_as_json_api(fake, content_type, status) -> None:
    group = fake.add_group("A001")
    document = {"data": {"type": "memberships", "id": "keyport-grant-1", "attributes": {"email": "a@b.c"}}}
    path = f"/v1/access-groups/{group}/memberships/keyport-grant-1"
    assert put_to_fake(fake, path, json.dumps(document).encode(), content_type) == status


def test_the_fake_refuses_a_membership_document_of_another_id(fake) -> None:
    group = fake.add_group("A001")
    document = {"data": {"type": "memberships", "id": "keyport-grant-2", "attributes": {}}}
    path = f"/v1/access-groups/{group}/memberships/keyport-grant-1"
    assert put_to_fake(fake, path, json.dumps(document).encode(), "application/vnd.api+json") == 409


def test_the_vendors_errors_become_the_grants_sync_error_shown_to_staff(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    grant = AccessGrant.objects.get(unit=site.units[0])
    path = f"/v1/access-groups/{fake.state.groups['A001']}/memberships/{grant.membership_ref}"
    errors = [
        {"status": "422", "title": "Invalid Attribute", "detail": "valid_from must be\nin the future"},
        {"status": "422", "title": "PIN taken"},
    ]
    fake.answer_next(path, {"errors": errors}, status=422)
    drain()
    grant.refresh_from_db()
    assert grant.sync_state == SyncState.PENDING
    assert grant.sync_error == (
        f"Sensorberg answered 422 to PUT {path}. "
        "Invalid Attribute: valid_from must be in the future; PIN taken"
    )


def test_an_error_answer_that_is_not_json_api_is_told_by_its_status_alone(fake, grant) -> None:
    fake.add_group("A001")
    fake.answer_next("/v1/access-groups", b"<html>internal host 10.1.2.3</html>", status=500)
    with pytest.raises(ProviderError) as raised:
        provider_for_fake(fake).push(grant, idempotency_key=KEY)
    assert str(raised.value) == "Sensorberg answered 500 to GET /v1/access-groups."


def test_lists_are_read_over_every_page(fake, grant) -> None:
    fake.state.page_size = 2
    group = fake.add_group("A001")
    for number in range(5):
        fake.state.memberships.setdefault(group, {})[f"keyport-grant-{9000 + number}"] = {"email": "x@y.z"}
    for number in range(4):
        fake.add_group(f"B{number:03}")

    held = provider_for_fake(fake).memberships("A001")
    check = provider_for_fake(fake).test_connection(timeout=2)

    assert sorted(held) == [f"keyport-grant-{9000 + number}" for number in range(5)]
    assert len(gets_of(fake, f"/v1/access-groups/{group}/memberships")) == 3
    assert (check.ok, check.message) == (
        True,
        "Token: ok. Listing groups: 5 access groups. Units matched: 0 of 0.",
    )
    assert len(gets_of(fake, "/v1/access-groups")) == 1 + 3  # the filtered lookup, then 3 pages


def test_a_next_page_elsewhere_is_not_followed_and_gets_no_token(fake, grant) -> None:
    group = {"type": "access-groups", "id": "grp_1", "attributes": {"external_id": "A001"}}
    fake.answer_next(
        "/v1/access-groups", {"data": [group], "links": {"next": "https://attacker.example/v1/access-groups"}}
    )
    with pytest.raises(ProviderError, match=NOT_UNDERSTOOD):
        provider_for_fake(fake).push(grant, idempotency_key=KEY)
    assert fake.state.writes == []


def test_a_group_of_another_external_identifier_is_never_taken(fake, grant) -> None:
    """A server that ignores the filter lists every group: only the unit's own counts."""
    other = {"type": "access-groups", "id": "grp_other", "attributes": {"external_id": "B001"}}
    fake.answer_next("/v1/access-groups", {"data": [other], "links": {"next": None}})
    with pytest.raises(ProviderError, match="no access group with External Identifier 'A001'"):
        provider_for_fake(fake).push(grant, idempotency_key=KEY)
    assert fake.state.writes == []

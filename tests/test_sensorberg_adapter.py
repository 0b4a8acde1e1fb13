"""The Sensorberg adapter on its own, against the local fake of the vendor's cloud."""

import datetime as dt
import email.utils

import pytest
from django.utils import timezone

from keyport.access.models import AccessGrant
from keyport.access.providers import MayStillLand, ProviderError, RetryLater
from keyport.access.providers.sensorberg import SensorbergProvider
from keyport.access.providers.sensorberg import provider as sensorberg
from keyport.access.providers.sensorberg.json_api import (
    NOT_UNDERSTOOD,
    RETRY_AFTER_MAX_SECONDS,
    retry_after_seconds,
)
from keyport.access.providers.sensorberg.memberships import membership_body
from tests import cast
from tests.sensorberg_fake import CLIENT_ID, CLIENT_SECRET, FakeSensorberg

pytestmark = pytest.mark.django_db
KEY = "00000000-0000-0000-0000-000000000001"
OTHER_CLIENT_ID = "keyport-second-site"
OTHER_CLIENT_SECRET = "another-s3cret-never-logged"
GROUP = {"type": "access-groups", "id": "grp_1", "attributes": {"external_id": "A001"}}
MEMBERSHIP = {"type": "memberships", "id": "keyport-grant-1", "attributes": {}}


def provider_for_fake(fake: FakeSensorberg, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET):
    return SensorbergProvider(base_url=fake.base_url, client_id=client_id, client_secret=secret)


@pytest.fixture
def grant(site, tenant) -> AccessGrant:
    """The tenant's grant on unit A001, whose External Identifier is "A001"."""
    cast.book(tenant, site, starts_on=timezone.localdate())
    return AccessGrant.objects.select_related("holder", "unit").get(
        holder=site.holder(tenant), unit=site.units[0]
    )


def test_two_accounts_on_one_address_push_into_their_own_groups(fake, grant) -> None:
    fake.add_client(OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)
    fake.add_group("A001")
    fake.add_group("A001", client_id=OTHER_CLIENT_ID)
    first = provider_for_fake(fake)
    second = provider_for_fake(fake, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)

    first.push(grant, idempotency_key=KEY)
    second.push(grant, idempotency_key=KEY)
    first.push(grant, idempotency_key=KEY)

    assert grant.membership_ref in fake.members("A001")
    assert grant.membership_ref in fake.members("A001", client_id=OTHER_CLIENT_ID)
    # Each account used its own group id from the start: no call went to the other's group.
    assert [answer for answer in fake.state.answers if answer[2] == 404] == []


def test_a_push_reaches_a_group_re_created_under_a_new_id(fake, grant) -> None:
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.push(grant, idempotency_key=KEY)
    fake.recreate_group("A001")
    fake.state.memberships[fake.state.groups["A001"]].clear()

    provider.push(grant, idempotency_key=KEY)

    assert grant.membership_ref in fake.members("A001")


def test_a_removal_reaches_a_group_re_created_under_a_new_id(fake, grant) -> None:
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.push(grant, idempotency_key=KEY)
    fake.recreate_group("A001")  # the new group holds the membership too

    provider.remove(grant, idempotency_key=KEY)

    assert fake.members("A001") == {}


def test_memberships_are_read_from_a_group_re_created_under_a_new_id(fake, grant) -> None:
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    assert provider.memberships("A001") == {}
    provider.push(grant, idempotency_key=KEY)
    fake.recreate_group("A001")

    assert set(provider.memberships("A001")) == {grant.membership_ref}


def test_a_removal_of_a_membership_the_vendor_no_longer_holds_counts_as_done(fake, grant) -> None:
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.remove(grant, idempotency_key=KEY)  # group looked up now: the 404 means gone
    provider.remove(grant, idempotency_key=KEY)  # group from the cache, confirmed on the 404

    assert fake.members("A001") == {}


def test_a_membership_on_a_group_that_was_deleted_fails_with_its_external_identifier(fake, grant) -> None:
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.push(grant, idempotency_key=KEY)
    del fake.state.groups["A001"]

    with pytest.raises(ProviderError, match="no access group with External Identifier 'A001'"):
        provider.remove(grant, idempotency_key=KEY)


def test_memberships_return_what_push_sent_and_remove_ref_deletes_one_without_a_grant(fake, grant) -> None:
    group = fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.push(grant, idempotency_key=KEY)
    fake.state.memberships[group]["keyport-grant-999999"] = {"email": "stale@example.com"}

    held = provider.memberships("A001")

    assert held == {
        grant.membership_ref: membership_body(grant),
        "keyport-grant-999999": {"email": "stale@example.com"},
    }
    assert membership_body(grant)["credential"] == {"type": "pin", "code": grant.holder.pin}
    provider.remove_ref("A001", "keyport-grant-999999", idempotency_key=KEY)
    provider.remove_ref("A001", "keyport-grant-999999", idempotency_key=KEY)  # already gone
    assert set(fake.members("A001")) == {grant.membership_ref}


def test_several_groups_with_one_external_identifier_are_refused_by_name(fake, grant) -> None:
    fake.add_group("A001")
    fake.add_twin_group("A001")

    with pytest.raises(ProviderError, match="2 access groups with External Identifier 'A001'"):
        provider_for_fake(fake).push(grant, idempotency_key=KEY)
    assert fake.state.writes == []


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("Tue, 01 Dec 2026 12:34:06 GMT", 6.0),
        ("Tue, 01 Dec 2026 12:33:00 GMT", 0.0),  # already past
        ("Tue, 01 Dec 2026 12:34:06 -0000", 6.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", RETRY_AFTER_MAX_SECONDS),
        ("inf", RETRY_AFTER_MAX_SECONDS),
        ("soon", 1.0),
        ("", 1.0),
        (None, 1.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_an_http_date(value, seconds) -> None:
    now = dt.datetime(2026, 12, 1, 12, 34, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(value, now=now) == seconds


def test_a_429_with_an_http_date_waits_until_that_date(fake, grant) -> None:
    fake.add_group("A001")
    later = timezone.now() + dt.timedelta(seconds=120)
    fake.rate_limit_next(1, email.utils.format_datetime(later, usegmt=True))

    with pytest.raises(RetryLater) as raised:
        provider_for_fake(fake).push(grant, idempotency_key=KEY)

    assert 118 <= raised.value.after_seconds <= 120


@pytest.mark.parametrize(
    ("path", "body", "cut_after"),
    [
        ("/oauth/token", {"access_token": "abc", "expires_in": 3600}, 10),
        ("/oauth/token", {"token": "abc"}, None),
        ("/oauth/token", {"access_token": "abc", "expires_in": "an hour"}, None),
        ("/v1/access-groups", {"data": [GROUP]}, 12),
        ("/v1/access-groups", {"data": GROUP}, None),
        ("/v1/access-groups", {"data": [GROUP | {"id": ""}]}, None),
        ("/v1/access-groups", {"data": [GROUP | {"type": "memberships"}]}, None),
        ("/v1/access-groups", {"data": [GROUP | {"attributes": ["A001"]}]}, None),
        ("/v1/access-groups", {"data": ["grp_1"]}, None),
        ("/v1/access-groups", {"data": [GROUP], "links": {"next": 7}}, None),
        ("/v1/access-groups", {"items": [{"id": "grp_1", "external_id": "A001"}]}, None),
        ("/v1/access-groups", b"<html>Bad gateway</html>", None),
    ],
)
def test_a_cut_off_or_odd_answer_on_push_is_a_provider_error(fake, grant, path, body, cut_after) -> None:
    fake.add_group("A001")
    fake.answer_next(path, body, cut_after=cut_after)

    with pytest.raises(ProviderError) as raised:
        provider_for_fake(fake).push(grant, idempotency_key=KEY)

    assert CLIENT_SECRET not in str(raised.value)
    assert fake.state.writes == []


@pytest.mark.parametrize(
    ("body", "cut_after"),
    [
        ({"data": [MEMBERSHIP]}, 20),
        ({"data": [{"type": "memberships", "attributes": {"email": "someone@example.com"}}]}, None),
        ({"data": "keyport-grant-1"}, None),
        ({"data": [MEMBERSHIP | {"id": ["keyport-grant-1"]}]}, None),
        ({"items": [{"ref": "keyport-grant-1"}]}, None),
    ],
)
def test_a_cut_off_or_odd_membership_list_is_a_provider_error(fake, body, cut_after) -> None:
    group = fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.memberships("A001")
    fake.answer_next(f"/v1/access-groups/{group}/memberships", body, cut_after=cut_after)

    with pytest.raises(ProviderError):
        provider.memberships("A001")


def test_test_connection_tells_of_an_odd_group_list(fake) -> None:
    fake.answer_next("/v1/access-groups", {"data": 3})

    check = provider_for_fake(fake).test_connection(timeout=1)

    assert (
        not check.ok
        and check.message == f"Token: ok. Listing groups: failed. {NOT_UNDERSTOOD} Units matched: not tried."
    )


def test_an_address_with_a_password_and_no_port_fails_without_showing_the_password(grant) -> None:
    provider = SensorbergProvider(
        base_url="http://keyport:hunter2@127.0.0.1", client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )

    with pytest.raises(ProviderError) as raised:
        provider.push(grant, idempotency_key=KEY)

    assert "hunter2" not in str(raised.value) and CLIENT_SECRET not in str(raised.value)
    assert "http://127.0.0.1" in str(raised.value)


def membership_path(fake: FakeSensorberg, grant: AccessGrant) -> str:
    return f"/v1/access-groups/{fake.state.groups['A001']}/memberships/{grant.membership_ref}"


@pytest.mark.parametrize("answer", ["timeout", "cut off", 502, 504])
def test_a_push_that_got_no_answer_may_still_land(fake, grant, monkeypatch, answer) -> None:
    monkeypatch.setattr(sensorberg, "TIMEOUT_SECONDS", 0.3)
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.memberships("A001")  # signed in, the group known: the next call is the PUT itself
    if answer == "timeout":
        fake.slow_next(1, 1.0, method="PUT")
    elif answer == "cut off":
        fake.answer_next(membership_path(fake, grant), {"ref": grant.membership_ref}, cut_after=4)
    else:
        fake.answer_next(membership_path(fake, grant), {"error": "upstream"}, status=answer)

    with pytest.raises(MayStillLand):
        provider.push(grant, idempotency_key=KEY)


@pytest.mark.parametrize("failure", [500, 503, 400, "login timeout", "server down"])
def test_a_push_answered_or_never_sent_cannot_land_later(fake, grant, monkeypatch, failure) -> None:
    monkeypatch.setattr(sensorberg, "TIMEOUT_SECONDS", 0.3)
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    if failure == "login timeout":
        fake.slow_next(1, 1.0, method="POST")
    elif failure == "server down":
        fake.stop()
    else:
        provider.memberships("A001")
        fake.answer_next(membership_path(fake, grant), {"error": "no"}, status=failure)

    with pytest.raises(ProviderError) as raised:
        provider.push(grant, idempotency_key=KEY)

    assert not isinstance(raised.value, MayStillLand)


def test_a_removal_that_got_no_answer_is_only_a_failed_attempt(fake, grant, monkeypatch) -> None:
    monkeypatch.setattr(sensorberg, "TIMEOUT_SECONDS", 0.3)
    fake.add_group("A001")
    provider = provider_for_fake(fake)
    provider.push(grant, idempotency_key=KEY)
    fake.slow_next(1, 1.0, method="DELETE")

    with pytest.raises(ProviderError) as raised:
        provider.remove(grant, idempotency_key=KEY)

    assert not isinstance(raised.value, MayStillLand)

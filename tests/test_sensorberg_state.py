"""The location's access settings page shows Sensorberg at work: the last successful call, the
token's expiry, the last hour's calls and failures, units without an access group, the changes
waiting or failed with Retry; Test connection tells in one line what worked."""

import contextlib
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from keyport.access.models import ProviderCallTally, SensorbergAccount
from keyport.access.providers import ProviderError
from keyport.access.providers.sensorberg import SensorbergProvider
from keyport.access.queries import provider_state
from keyport.access.services import SYNC_MAX_ATTEMPTS, sync_redrive
from tests.sensorberg_fake import CLIENT_ID
from tests.test_location_settings import sensorberg_post
from tests.test_sensorberg import connect, drain

pytestmark = pytest.mark.django_db


def test_the_state_counts_the_last_hours_calls_and_failures(fake, site, tenant) -> None:
    connect(site, tenant, fake)
    drain()  # a token, three lookups, three pushes
    fake.fail_next(2, 503)
    provider = SensorbergProvider.for_location(site.location)
    for unit in ("A001", "A002", "A003"):
        with contextlib.suppress(ProviderError):  # the failures are what is counted
            provider.memberships(unit)
    state = provider_state(site.location)
    assert state is not None
    assert (state.calls_last_hour, state.failures_last_hour) == (10, 2)
    assert state.last_ok_at is not None and timezone.now() - state.last_ok_at < dt.timedelta(minutes=1)
    account = SensorbergAccount.objects.get(location=site.location)
    assert state.token_expires_at == account.token_expires_at is not None
    ProviderCallTally.objects.update(minute=timezone.now() - dt.timedelta(minutes=61))
    later = provider_state(site.location)
    assert later is not None and (later.calls_last_hour, later.failures_last_hour) == (0, 0)
    assert later.last_ok_at == state.last_ok_at


def test_the_page_shows_the_state_units_without_group_and_failed_changes_with_retry(
    fake, owner_client, site, tenant
) -> None:
    connect(site, tenant, fake)
    del fake.state.groups["A002"]  # no access group for this unit in Sensorberg
    for _ in range(SYNC_MAX_ATTEMPTS):
        sync_redrive(now=timezone.now() + dt.timedelta(days=1))
    url = reverse("dashboard:location_settings", args=[site.location.pk])
    page = owner_client.get(url).content.decode()
    assert 'id="provider-state"' in page
    missing = page.split('id="provider-missing-groups"', 1)[1].split("</div>", 1)[0]
    unit = site.units[1]
    unit_link = reverse("dashboard:location_units", args=[site.location.pk]) + f"?q=A002#unit-{unit.pk}"
    assert f'href="{unit_link}">A002</a>' in missing
    assert "A001" not in missing
    failed = page.split('id="provider-failed"', 1)[1]
    assert "no access group with External Identifier" in failed and "Retry all failed" in failed
    assert reverse("dashboard:location_sync_retry", args=[site.location.pk]) in failed
    assert "failed" in page.split('id="provider-calls"', 1)[1].split("</dd>", 1)[0]
    response = owner_client.post(
        reverse("dashboard:location_sync_retry", args=[site.location.pk]), follow=True
    )
    assert "sent to the provider again" in response.content.decode()


def test_the_page_has_no_state_without_a_sensorberg_login(owner_client) -> None:
    from tests.factories import LocationFactory

    location = LocationFactory()
    page = owner_client.get(reverse("dashboard:location_settings", args=[location.pk])).content.decode()
    assert 'id="provider-state"' not in page


def test_test_connection_tells_in_one_line_how_many_units_matched_a_group(
    fake, owner_client, site, tenant
) -> None:
    connect(site, tenant, fake)
    del fake.state.groups["A003"]
    fake.add_group("Z999")
    url = reverse("dashboard:location_test_connection", args=[site.location.pk])
    page = owner_client.post(url, sensorberg_post(site.location, fake.base_url)).content.decode()
    assert "Token: ok. Listing groups: 3 access groups. Units matched: 2 of 3." in page


def test_test_connection_tells_which_step_failed(fake, owner_client, site, tenant) -> None:
    connect(site, tenant, fake)
    url = reverse("dashboard:location_test_connection", args=[site.location.pk])
    fake.answer_next("/v1/access-groups", {"errors": [{"title": "boom"}]}, status=503)
    page = owner_client.post(url, sensorberg_post(site.location, fake.base_url)).content.decode()
    assert (
        "Token: ok. Listing groups: failed. Sensorberg answered 503 to GET /v1/access-groups. "
        "Units matched: not tried."
    ) in page
    page = owner_client.post(
        url, sensorberg_post(site.location, fake.base_url, secret="wrong")
    ).content.decode()
    assert "Token: failed. Sensorberg refused the client id and secret. Listing groups: not tried." in page
    assert CLIENT_ID  # the login tried is the form's, not the saved one

import datetime as dt
import html
import re
from urllib.parse import urljoin

import pytest
import time_machine
from django.urls import reverse

from keyport.access.models import AccessEvent, AccessGrant
from keyport.access.services import access_decide
from keyport.access.services.doors import Door
from keyport.staff.models import Role
from tests import cast
from tests.factories import LocationFactory, StaffUserFactory, UnitFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)
OLDER_LINK = re.compile(r'<a class="page-link" rel="next" href="([^"]+)">Older</a>')


@pytest.fixture
def booking(tenant, site):
    """The tenant opens the main door with unit A001; a guest of A002 from next week is turned away."""
    with time_machine.travel(NOW, tick=False):
        booking = cast.book(tenant, site)
        cast.share(
            booking, "friend@example.com", dt.date(2026, 3, 10), dt.date(2026, 3, 20), units=[site.units[1]]
        )
        return booking


def tenant_opens(site, tenant, *, when: dt.datetime) -> None:
    access_decide(door=Door.of(site.door), holder=site.holder(tenant), channel="portal", when=when)


def guest_is_turned_away(site, *, when: dt.datetime) -> None:
    guest = AccessGrant.objects.get(share__isnull=False).holder
    access_decide(door=Door.of(site.door), holder=guest, channel="guest", when=when)


def events_url(site, **query: object) -> str:
    url = reverse("dashboard:location_access_events", args=[site.location.pk])
    return url + "?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else url


def shown_ids(response) -> list[int]:
    return [event.id for event in response.context["page"].events]


def older_link(response) -> str | None:
    """The Older link's address, as the browser follows it from the page."""
    found = OLDER_LINK.search(response.content.decode())
    return urljoin(response.wsgi_request.get_full_path(), html.unescape(found.group(1))) if found else None


def test_pages_of_fifty_newest_first_with_no_event_twice_or_missed_at_shared_instants(
    client, owner, site, tenant, booking, django_assert_max_num_queries
) -> None:
    # 120 events at 40 instants, three at each, created out of time order.
    for n in range(120):
        tenant_opens(site, tenant, when=NOW - dt.timedelta(minutes=n % 40))
    newest_first = [
        event_id for _, event_id in sorted(AccessEvent.objects.values_list("occurred_at", "id"), reverse=True)
    ]
    client.force_login(owner)

    with django_assert_max_num_queries(12):
        first = client.get(events_url(site))
    assert first.status_code == 200
    assert shown_ids(first) == newest_first[:50]
    second = client.get(older_link(first))
    assert shown_ids(second) == newest_first[50:100]
    third = client.get(older_link(second))
    assert shown_ids(third) == newest_first[100:]
    assert older_link(third) is None
    assert "Newest" in third.content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_unit_filter_shows_only_that_units_events_on_every_page(
    client, owner, site, tenant, booking
) -> None:
    for n in range(60):
        tenant_opens(site, tenant, when=NOW - dt.timedelta(seconds=n))
    for n in range(5):
        guest_is_turned_away(site, when=NOW - dt.timedelta(seconds=n))
    first_unit, second_unit = site.units[0], site.units[1]
    client.force_login(owner)

    guest_page = client.get(events_url(site, unit=second_unit.pk))
    assert len(guest_page.context["page"].events) == 5
    assert {event.unit for event in guest_page.context["page"].events} == {second_unit}

    tenant_page = client.get(events_url(site, unit=first_unit.pk))
    assert {event.unit for event in tenant_page.context["page"].events} == {first_unit}
    older = older_link(tenant_page)
    assert older is not None and f"unit={first_unit.pk}" in older
    older_page = client.get(older)
    assert len(older_page.context["page"].events) == 10
    assert {event.unit for event in older_page.context["page"].events} == {first_unit}


@time_machine.travel(NOW, tick=False)
def test_the_denied_and_allowed_filters(client, owner, site, tenant, booking) -> None:
    tenant_opens(site, tenant, when=NOW)
    guest_is_turned_away(site, when=NOW)
    tenant_opens(site, tenant, when=NOW)
    client.force_login(owner)

    denied = client.get(events_url(site, decision="denied"))
    assert [event.reason for event in denied.context["page"].events] == ["outside_window"]
    assert "not valid at this time" in denied.content.decode()
    allowed = client.get(events_url(site, decision="allowed"))
    assert [event.allowed for event in allowed.context["page"].events] == [True, True]
    assert client.get(events_url(site, decision="maybe")).status_code == 400


@time_machine.travel(NOW, tick=False)
def test_a_unit_of_another_location_or_no_unit_at_all_is_not_found(client, owner, site, booking) -> None:
    elsewhere = UnitFactory(location=LocationFactory())
    client.force_login(owner)
    assert client.get(events_url(site, unit=elsewhere.pk)).status_code == 404
    assert client.get(events_url(site, unit=999999)).status_code == 404
    assert client.get(events_url(site, unit="A001")).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_staff_of_another_location_do_not_find_the_page(client, site, tenant, booking) -> None:
    tenant_opens(site, tenant, when=NOW)
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(LocationFactory())
    client.force_login(manager)
    assert client.get(events_url(site)).status_code == 404
    manager.locations.add(site.location)
    assert client.get(events_url(site)).status_code == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "2026-03-04T09:00:00.000000Z_",
        "2026-03-04T09:00:00.000000Z_abc",
        "2026-03-04T09:00:00_12",  # no time zone
        "0001-01-01T00:00:00%2B05:00_12",  # before the first UTC instant
        "2026-03-04T09:00:00.000000Z_" + "9" * 30,  # beyond the database's integers
        "2026-02-30T09:00:00.000000Z_12",
    ],
)
@time_machine.travel(NOW, tick=False)
def test_a_broken_cursor_says_so_instead_of_failing(client, owner, site, booking, cursor) -> None:
    client.force_login(owner)
    response = client.get(events_url(site, before=cursor))
    assert response.status_code == 400
    assert "This link to older events is broken" in response.content.decode()


@time_machine.travel(NOW, tick=False)
def test_the_location_and_booking_pages_lead_to_the_events_page_and_units_to_their_filter(
    client, owner, site, tenant, booking
) -> None:
    tenant_opens(site, tenant, when=NOW)
    page_url = reverse("dashboard:location_access_events", args=[site.location.pk])
    unit_url = f"{page_url}?unit={site.units[0].pk}"
    client.force_login(owner)
    for url in [
        reverse("dashboard:location_rentals", args=[site.location.pk]),
        reverse("dashboard:booking_detail", args=[booking.pk]),
    ]:
        page = client.get(url).content.decode()
        assert f'href="{page_url}">All access events</a>' in page
        assert f'href="{unit_url}"' in page

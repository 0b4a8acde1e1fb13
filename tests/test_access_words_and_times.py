"""Door decisions in words, and access times in the location's own zone, on every page that shows them."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from keyport.access.services import access_decide, booking_revoke_access
from keyport.access.services.doors import Door
from keyport.access.templatetags.access_words import UNKNOWN_REASON_WORDS, reason_in_words
from keyport.api.openapi import REASONS
from keyport.audit.services import Actor
from tests import cast
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)  # 10:00 in Berlin
BEFORE_THE_BOOKING = dt.datetime(2026, 2, 27, 12, tzinfo=dt.UTC)
KEY = re.compile(r"/key/(?P<key>[A-Za-z0-9_-]+)/")
OUTSIDE_WINDOW_WORDS = "Your access is not valid at this time."


@pytest.fixture
def booking(tenant, site):
    """The owner tenant's booking, made at NOW."""
    with time_machine.travel(NOW, tick=False):
        return cast.book(tenant, site)


def tenant_opens_main_door(site, tenant, when: dt.datetime) -> None:
    access_decide(door=Door.of(site.door), holder=site.holder(tenant), channel="portal", when=when)


def test_every_decision_reason_has_its_own_words() -> None:
    for reason in REASONS:
        assert reason_in_words(reason) != UNKNOWN_REASON_WORDS, reason
        assert reason not in reason_in_words(reason)


@time_machine.travel(NOW, tick=False)
def test_manage_access_shows_event_times_in_the_locations_zone(client, site, tenant, booking) -> None:
    tenant_opens_main_door(site, tenant, NOW)
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:share_manage", args=[booking.pk])).content.decode()
    assert "Times in Europe/Berlin" in page
    assert "4 Mar 2026 10:00</time> · Main door" in page


@time_machine.travel(NOW, tick=False)
def test_manage_access_says_why_a_door_did_not_open_in_words(client, site, tenant, booking) -> None:
    tenant_opens_main_door(site, tenant, BEFORE_THE_BOOKING)
    sign_in_as(client, tenant)
    page = client.get(reverse("portal:share_manage", args=[booking.pk])).content.decode()
    assert f"did not open. {OUTSIDE_WINDOW_WORDS}" in page
    assert "outside_window" not in page


def test_the_guest_page_says_in_words_why_the_door_did_not_open(
    client, booking, site, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        cast.share(booking, "friend@example.com", dt.date(2026, 3, 6), dt.date(2026, 3, 9))
    key = KEY.search(mail.outbox[-1].body)["key"]
    with time_machine.travel(NOW, tick=False):
        response = client.post(f"/key/{key}/open/{site.door.pk}/", follow=True)
    page = response.content.decode()
    assert OUTSIDE_WINDOW_WORDS in page
    assert "outside_window" not in page


@time_machine.travel(NOW, tick=False)
def test_the_booking_page_shows_grant_windows_and_events_in_the_locations_zone(
    client, owner, site, tenant, booking
) -> None:
    tenant_opens_main_door(site, tenant, NOW)
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert "Window (Europe/Berlin)" in page and "2026-03-01 00:00</time> – open" in page
    assert "When (Europe/Berlin)" in page and "2026-03-04 10:00:00" in page


@time_machine.travel(NOW, tick=False)
def test_staff_event_lists_give_the_reason_in_words_with_its_code_beside(
    client, owner, site, tenant, booking
) -> None:
    tenant_opens_main_door(site, tenant, BEFORE_THE_BOOKING)
    client.force_login(owner)
    for url in (
        reverse("dashboard:booking_detail", args=[booking.pk]),
        reverse("dashboard:location_rentals", args=[site.location.pk]),
    ):
        page = client.get(url).content.decode()
        assert f'<span title="outside_window">{OUTSIDE_WINDOW_WORDS}' in page
        assert "2026-02-27 13:00:00" in page


@time_machine.travel(NOW, tick=False)
def test_the_customer_page_shows_grant_windows_in_the_locations_zone(client, owner, tenant, booking) -> None:
    client.force_login(owner)
    url = reverse("dashboard:customer_detail", args=[tenant.customer_id])
    page = client.get(url).content.decode()
    assert "Window (Europe/Berlin)" in page and "2026-03-01 00:00</time> – open" in page


@time_machine.travel(NOW, tick=False)
def test_a_revoked_bookings_revoke_time_is_in_the_locations_zone(client, owner, booking) -> None:
    booking_revoke_access(actor=Actor.staff(owner), booking=booking, reason="Payment overdue")
    client.force_login(owner)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert "2026-03-04 10:00 (Europe/Berlin) by" in page


def test_the_overview_and_the_customer_page_show_an_access_change_in_its_locations_time(
    client, owner, booking, tenant
) -> None:
    with time_machine.travel(NOW, tick=False):
        booking_revoke_access(actor=Actor.system("tests"), booking=booking, reason="Keys lost")
    client.force_login(owner)
    overview = client.get(reverse("dashboard:home")).content.decode()
    customer = client.get(reverse("dashboard:customer_detail", args=[tenant.customer_id])).content.decode()
    for page in (overview, customer):
        assert "Times in Europe/Berlin" in page
        assert '<time datetime="2026-03-04T10:00:00+01:00">2026-03-04 10:00</time>' in page

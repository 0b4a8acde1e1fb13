"""Transfer's To unit list follows the transfer date: htmx refreshes it, and Show free units does
the same without JavaScript."""

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from keyport.audit.services import Actor
from keyport.bookings.models import BookingUnit
from keyport.frontdesk.services import booking_create
from keyport.staff.models import Role
from tests.factories import ContactFactory, LocationFactory, StaffUserFactory, UnitFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
NOW = dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC)  # 10:00 in Berlin


@pytest.fixture
def scene():
    """A current booking of A001; B001 is another tenant's until 9 March, C001 is free."""
    with time_machine.travel(NOW, tick=False):
        location = LocationFactory(time_zone="Europe/Berlin")
        a, b, c = (UnitFactory(location=location, number=number) for number in ("A001", "B001", "C001"))
        tenant, other = ContactFactory(), ContactFactory()
        booking = booking_create(
            actor=ACTOR, customer=tenant.customer, units=[a], starts_on=dt.date(2026, 3, 1)
        )
        booking_create(
            actor=ACTOR,
            customer=other.customer,
            units=[b],
            starts_on=dt.date(2026, 2, 1),
            ends_on=dt.date(2026, 3, 9),
        )
        manager = StaffUserFactory(role=Role.MANAGER)
        manager.locations.set([location])
        client = Client()
        client.force_login(manager)
        return client, booking, a, b, c


def offered(html: str, unit) -> bool:
    return f'value="{unit.pk}"' in html and unit.number in html


@time_machine.travel(NOW, tick=False)
def test_the_date_field_asks_htmx_for_the_units_free_from_it(scene):
    client, booking, a, b, c = scene
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert f'hx-get="{reverse("dashboard:booking_transfer_units", args=[booking.pk])}"' in page
    assert 'hx-target="#transfer-to-units"' in page
    today = client.get(reverse("dashboard:booking_transfer_units", args=[booking.pk]), {"on": "2026-03-04"})
    assert offered(today.content.decode(), c) and not offered(today.content.decode(), b)
    later = client.get(reverse("dashboard:booking_transfer_units", args=[booking.pk]), {"on": "2026-03-10"})
    assert later.status_code == 200 and "<html" not in later.content.decode()
    assert offered(later.content.decode(), b) and offered(later.content.decode(), c)


@time_machine.travel(NOW, tick=False)
def test_show_free_units_offers_them_without_javascript_and_transfers_nothing(scene):
    client, booking, a, b, c = scene
    rows_before = list(
        BookingUnit.objects.values_list("pk", "unit_id", "starts_on", "ends_on").order_by("pk")
    )
    response = client.post(
        reverse("dashboard:booking_transfer", args=[booking.pk]),
        {"action": "show_units", "on": "2026-03-10", "from_unit": a.pk},
    )
    html = response.content.decode()
    assert response.status_code == 200 and offered(html, b)
    assert 'value="2026-03-10"' in html
    assert (
        list(BookingUnit.objects.values_list("pk", "unit_id", "starts_on", "ends_on").order_by("pk"))
        == rows_before
    )


@time_machine.travel(NOW, tick=False)
def test_the_free_units_of_another_locations_booking_stay_out_of_reach(scene):
    _client, booking, *_ = scene
    stranger = StaffUserFactory(role=Role.MANAGER)
    stranger.locations.set([LocationFactory()])
    client = Client()
    client.force_login(stranger)
    assert client.get(reverse("dashboard:booking_transfer_units", args=[booking.pk])).status_code == 404

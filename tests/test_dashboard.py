import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from keyport.staff.models import Role
from tests.factories import (
    PASSWORD,
    AccessPointFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    response = client.post(reverse("dashboard:login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return response


def test_staff_sign_in_with_email_and_password_reaches_the_dashboard(client):
    user = StaffUserFactory(email="olga@keyport.test")
    response = client.post(
        reverse("dashboard:login"), {"username": "OLGA@keyport.test ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == reverse("dashboard:home")
    page = client.get(reverse("dashboard:home"))
    assert page.status_code == 200
    assert user.full_name in page.content.decode()


def test_wrong_password_shows_an_error_and_signs_no_one_in(client):
    StaffUserFactory(email="olga@keyport.test")
    response = client.post(reverse("dashboard:login"), {"username": "olga@keyport.test", "password": "wrong"})
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert client.get(reverse("dashboard:home")).status_code == 302


def test_inactive_staff_cannot_sign_in(client):
    StaffUserFactory(email="gone@keyport.test", is_active=False)
    response = client.post(
        reverse("dashboard:login"), {"username": "gone@keyport.test", "password": PASSWORD}
    )
    assert response.status_code == 200


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(reverse("dashboard:login"))


def test_sign_in_form_is_csrf_protected(db):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    StaffUserFactory(email="olga@keyport.test")
    response = strict.post(
        reverse("dashboard:login"), {"username": "olga@keyport.test", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_sign_in_rotates_the_session_key(client):
    user = StaffUserFactory()
    client.get(reverse("dashboard:login"))
    client.session.save()
    before = client.session.session_key
    sign_in(client, user)
    assert client.session.session_key != before


def test_sign_out_ends_the_session(client):
    sign_in(client, StaffUserFactory())
    client.post(reverse("dashboard:logout"))
    assert client.get(reverse("dashboard:home")).status_code == 302


def test_overview_counts_units_and_flags_unmapped_ones(client):
    location = LocationFactory(name="Lager Nord")
    mapped, _unmapped = UnitFactory(location=location), UnitFactory(location=location)
    mapped.access_points.add(AccessPointFactory(location=location))
    sign_in(client, StaffUserFactory())
    page = client.get(reverse("dashboard:home")).content.decode()
    assert "Lager Nord" in page
    assert "1 unmapped" in page


def test_overview_counts_occupancy_on_each_locations_own_date(client):
    # 06:00 UTC on 10 March is still 9 March, 23:00, in Los Angeles, and 10 March, 19:00, in Auckland.
    west = LocationFactory(name="West Storage", time_zone="America/Los_Angeles")
    east = LocationFactory(name="East Storage", time_zone="Pacific/Auckland")
    customer = CustomerFactory()
    booking_of(customer, [UnitFactory(location=west)], dt.date(2026, 3, 1), dt.date(2026, 3, 9))
    booking_of(customer, [UnitFactory(location=east)], dt.date(2026, 3, 1), dt.date(2026, 3, 9))
    booking_of(customer, [UnitFactory(location=east)], dt.date(2026, 3, 10))
    sign_in(client, StaffUserFactory())
    with time_machine.travel(dt.datetime(2026, 3, 10, 6, tzinfo=dt.UTC), tick=False):
        rows = client.get(reverse("dashboard:home")).context["rows"]
    assert {row.location.name: row.today.occupied for row in rows} == {
        "East Storage": 1,
        "West Storage": 1,
    }


def test_staff_scoped_to_a_location_see_only_that_location(client):
    mine, other = LocationFactory(name="Mine Storage"), LocationFactory(name="Other Storage")
    manager = StaffUserFactory(role=Role.MANAGER)
    manager.locations.add(mine)
    sign_in(client, manager)
    page = client.get(reverse("dashboard:home")).content.decode()
    assert "Mine Storage" in page
    assert "Other Storage" not in page
    assert client.get(reverse("dashboard:location_detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("dashboard:location_detail", args=[other.pk])).status_code == 404


def test_an_owner_sees_every_location_even_when_locations_are_set(client):
    first, second = LocationFactory(), LocationFactory()
    owner = StaffUserFactory(role=Role.OWNER)
    owner.locations.add(first)
    sign_in(client, owner)
    assert client.get(reverse("dashboard:location_detail", args=[second.pk])).status_code == 200


def test_units_page_lists_units_with_their_access_points(client):
    location = LocationFactory()
    unit = UnitFactory(location=location, number="B042")
    unit.access_points.add(AccessPointFactory(location=location, name="Main gate"))
    UnitFactory(location=location, number="B043")
    sign_in(client, StaffUserFactory())
    page = client.get(reverse("dashboard:location_units", args=[location.pk])).content.decode()
    assert "B042" in page and "Main gate" in page
    assert "Not mapped" in page


def test_location_page_query_count_does_not_grow_with_units(client, django_assert_max_num_queries):
    location = LocationFactory()
    for _ in range(30):
        unit = UnitFactory(location=location)
        unit.access_points.add(AccessPointFactory(location=location))
    sign_in(client, StaffUserFactory())
    with django_assert_max_num_queries(9):  # one of them: the keypads blocked by wrong PINs
        client.get(reverse("dashboard:location_detail", args=[location.pk]))


def test_overview_query_count_is_constant(client):
    sign_in(client, StaffUserFactory())

    def queries_with(locations: int) -> int:
        for _ in range(locations):
            UnitFactory(location=LocationFactory())
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse("dashboard:home"))
        assert response.status_code == 200
        return len(captured)

    # The units counted; for each local date the occupied, out of service and reserved units, the
    # move-ins and the move-outs; the occupancy at each past month-end, counted once and then kept
    # (a cache read, and its write on the first view of the day); the currencies and the overdue
    # sums: as many for five locations as for one.
    assert queries_with(1) == queries_with(4) <= 21
    with CaptureQueriesContext(connection) as kept:
        assert client.get(reverse("dashboard:home")).status_code == 200
    assert len(kept) <= 15


def test_root_sends_visitors_to_the_customer_login_page(client):
    assert client.get("/").headers["Location"] == reverse("sign_in:login") == "/login/"

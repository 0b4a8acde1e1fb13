"""Every dashboard URL, for every kind of visitor: staff scoped to one location never see another's data.

The routes are read from keyport/dashboard/urls.py, so a new page is covered
as soon as it exists; a route whose arguments this test cannot fill fails
loudly until an object for it is added to `objects_at`.
"""

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, reverse

from keyport.dashboard import urls as dashboard_urls
from keyport.staff.models import Role
from tests.cast import section_objects
from tests.factories import (
    AccessPointFactory,
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    UnitTypeFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db

PUBLIC = {
    "login",
    "login_code",
    "logout",
    "staff_invite_accept",
    "password_reset",
    "password_reset_confirm",
}


def routes(patterns=dashboard_urls.urlpatterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, prefix)
        elif isinstance(pattern, URLPattern) and pattern.name not in PUBLIC:
            yield pattern.name, sorted(pattern.pattern.converters)


ROUTES = sorted(set((name, tuple(args)) for name, args in routes()))


def objects_at(location):
    """One object of each kind a dashboard URL can name, all at this location."""
    customer = CustomerFactory(home_location=location)
    contact = ContactFactory(customer=customer)
    unit = UnitFactory(location=location)
    booking = booking_of(customer, [unit], dt.date(2026, 1, 1))
    car = CarFactory(customer=customer)
    return {
        "location_id": location.pk,
        "customer_id": customer.pk,
        "contact_id": contact.pk,
        "unit_id": unit.pk,
        "booking_id": booking.pk,
        "grant_id": _grant_of(booking, contact, unit).pk,
        "car_id": car.pk,
        "access_point_id": AccessPointFactory(location=location).pk,
        "unit_type_id": UnitTypeFactory(location=location).pk,
        **section_objects(location=location, customer=customer, contact=contact, booking=booking, car=car),
        "key": "portal_invite",  # an email template
        "member_id": _staff_at(location).pk,
        "import_id": _import_at(location).pk,
    }


def _import_at(location):
    from keyport.imports.models import ImportStatus, TenantImport

    return TenantImport.objects.create(
        location=location, file="imports/x.csv", file_name="x.csv", status=ImportStatus.CHECKED
    )


def _staff_at(location):
    member = StaffUserFactory(role=Role.EMPLOYEE)
    member.locations.add(location)
    return member


def _grant_of(booking, contact, unit):
    from keyport.access.models import AccessGrant, GrantOrigin
    from keyport.access.services import holder_for_contact

    return AccessGrant.objects.filter(booking=booking).first() or AccessGrant.objects.create(
        holder=holder_for_contact(location=booking.location, contact=contact),
        unit=unit,
        booking=booking,
        origin=GrantOrigin.BOOKING,
        starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


def url_for(name, args, ids):
    missing = [arg for arg in args if arg not in ids]
    assert not missing, f"dashboard:{name} takes {missing}: add such an object to objects_at()"
    return reverse(f"dashboard:{name}", kwargs={arg: ids[arg] for arg in args})


def test_the_dashboard_has_routes_to_check():
    assert ("location_detail", ("location_id",)) in ROUTES
    point = ("access_point_id", "location_id")
    for name in (
        "access_point_detail",
        "access_point_units",
        "access_point_retire",
        "access_point_device_key",
    ):
        assert (name, point) in ROUTES
    assert ("access_point_device_key_withdraw", point) in ROUTES
    assert ("location_access_points", ("location_id",)) in ROUTES


@pytest.mark.parametrize(("name", "args"), ROUTES)
def test_anonymous_visitors_are_sent_to_sign_in(client, name, args):
    ids = objects_at(LocationFactory())
    url = url_for(name, args, ids)
    for response in (client.get(url), client.post(url)):
        assert response.status_code in {302, 405}
        if response.status_code == 302:
            assert response.headers["Location"].startswith(reverse("dashboard:login"))


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize(("name", "args"), [route for route in ROUTES if route[1]])
def test_staff_of_one_location_cannot_reach_another_locations_objects(client, role, name, args):
    mine, other = LocationFactory(), LocationFactory()
    objects_at(mine)
    elsewhere = objects_at(other)
    user = StaffUserFactory(role=role)
    user.locations.add(mine)
    client.force_login(user)
    url = url_for(name, args, elsewhere)
    assert client.get(url).status_code in {403, 404, 405}
    assert client.post(url).status_code in {403, 404, 405}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize(("name", "args"), [route for route in ROUTES if route[1]])
def test_staff_with_no_location_reach_no_locations_objects(client, role, name, args):
    ids = objects_at(LocationFactory())
    client.force_login(StaffUserFactory(role=role))
    url = url_for(name, args, ids)
    assert client.get(url).status_code in {403, 404, 405}
    assert client.post(url).status_code in {403, 404, 405}


@pytest.mark.parametrize("role", [Role.MANAGER, Role.EMPLOYEE])
@pytest.mark.parametrize(("name", "args"), [route for route in ROUTES if not route[1]])
def test_staff_with_no_location_find_nothing_in_the_lists(client, role, name, args):
    location = LocationFactory(name="Lager Unsichtbar")
    location.customers.filter(pk=objects_at(location)["customer_id"]).update(name="Mara Unsichtbar")
    client.force_login(StaffUserFactory(role=role))
    response = client.get(url_for(name, args, {}))
    assert response.status_code in {200, 403, 405}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert "Unsichtbar" not in body.decode()

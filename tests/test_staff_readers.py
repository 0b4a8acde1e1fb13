"""The staff readers: each returns what the staff member may reach, answers 404 for what is out of
their reach and 403 for what is in reach but not theirs to change, per role and location. And the
dashboard's views leave these checks to them."""

import ast
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from keyport.billing.queries import get_invoice_for_operator, get_invoice_for_staff
from keyport.bookings.queries import get_booking_for_operator, get_booking_for_staff
from keyport.cars.queries import get_car_for_manager, get_car_for_staff, get_photo_for_staff
from keyport.contacts.models import CustomerKind
from keyport.documents.queries import get_document_for_staff
from keyport.events.queries import get_event_for_operator, get_event_for_staff, get_lead_for_operator
from keyport.facilities.models import UnitKind
from keyport.frontdesk.queries import (
    get_contact_for_manager,
    get_contact_for_staff,
    get_customer_for_manager,
    get_customer_for_staff,
)
from keyport.staff.models import Role, StaffUser
from keyport.staff.queries import (
    get_location_for_operator,
    get_location_for_owner,
    get_location_for_staff,
    get_locations_for_operator,
    locations_for_operator,
    staff_locations,
)
from tests.cast import section_objects
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    booking_of,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

OK, NOT_FOUND, FORBIDDEN = "ok", 404, 403

# Who asks: owner, manager and employee of Berlin, a manager of Munich only, staff with All
# locations, and a manager given no location yet.
WHO = [
    "owner",
    "berlin_manager",
    "berlin_employee",
    "munich_manager",
    "all_manager",
    "all_employee",
    "no_location_manager",
]


@pytest.fixture
def cast(db):
    berlin, munich = LocationFactory(name="Berlin"), LocationFactory(name="Munich")

    def member(role: str, *locations: Any, all_locations: bool = False) -> StaffUser:
        user = StaffUserFactory(role=role, all_locations=all_locations)
        user.locations.set(locations)
        return user

    people = {
        "owner": member(Role.OWNER),
        "berlin_manager": member(Role.MANAGER, berlin),
        "berlin_employee": member(Role.EMPLOYEE, berlin),
        "munich_manager": member(Role.MANAGER, munich),
        "all_manager": member(Role.MANAGER, all_locations=True),
        "all_employee": member(Role.EMPLOYEE, all_locations=True),
        "no_location_manager": member(Role.MANAGER),
    }
    customer = CustomerFactory(home_location=berlin)
    contact = ContactFactory(customer=customer)
    booking = booking_of(customer, [UnitFactory(location=berlin)], dt.date(2026, 1, 1))
    car = CarFactory(customer=customer)
    # A Munich customer's car kept in a Berlin bay: Berlin's to move, as the bay is theirs.
    bay = UnitFactory(location=berlin, kind=UnitKind.PARKING_BAY)
    parked = CarFactory(customer=CustomerFactory(home_location=munich), bay=bay)
    # Booked at Berlin, at home nowhere: Berlin's staff see it, only owners change it.
    homeless = CustomerFactory(home_location=None)
    booking_of(homeless, [UnitFactory(location=berlin)], dt.date(2026, 1, 1))
    objects = {
        "berlin": berlin,
        "customer": customer,
        "contact": contact,
        "booking": booking,
        "car": car,
        "parked": parked,
        "homeless": homeless,
        "homeless_contact": ContactFactory(customer=homeless),
        "lead": CustomerFactory(home_location=berlin, kind=CustomerKind.LEAD),
        **section_objects(location=berlin, customer=customer, contact=contact, booking=booking, car=car),
    }
    return people, objects


READ = {
    "owner": OK,
    "berlin_manager": OK,
    "berlin_employee": OK,
    "munich_manager": NOT_FOUND,
    "all_manager": OK,
    "all_employee": OK,
    "no_location_manager": NOT_FOUND,
}
OPERATE = {**READ, "berlin_employee": FORBIDDEN, "all_employee": FORBIDDEN}
OWNERS_ONLY = {**READ, "berlin_manager": FORBIDDEN, "berlin_employee": FORBIDDEN}
OWNERS_ONLY.update(all_manager=FORBIDDEN, all_employee=FORBIDDEN)

Reader = Callable[[StaffUser, dict[str, Any]], Any]

# Each reader, how it is called on the cast's Berlin object, and the answer per person.
READERS: list[tuple[str, Reader, str, dict[str, object]]] = [
    ("location", lambda u, o: get_location_for_staff(u, o["berlin"].pk), "berlin", READ),
    ("location to run", lambda u, o: get_location_for_operator(u, o["berlin"].pk), "berlin", OPERATE),
    ("location settings", lambda u, o: get_location_for_owner(u, o["berlin"].pk), "berlin", OWNERS_ONLY),
    ("booking", lambda u, o: get_booking_for_staff(u, o["booking"].pk), "booking", READ),
    ("booking to run", lambda u, o: get_booking_for_operator(u, o["booking"].pk), "booking", OPERATE),
    ("customer", lambda u, o: get_customer_for_staff(u, o["customer"].pk), "customer", READ),
    ("customer to change", lambda u, o: get_customer_for_manager(u, o["customer"].pk), "customer", OPERATE),
    ("contact", lambda u, o: get_contact_for_staff(u, o["contact"].pk), "contact", READ),
    ("contact to change", lambda u, o: get_contact_for_manager(u, o["contact"].pk), "contact", OPERATE),
    ("car", lambda u, o: get_car_for_staff(u, o["car"].pk), "car", READ),
    ("car to change", lambda u, o: get_car_for_manager(u, o["car"].pk), "car", OPERATE),
    ("car in a bay to move", lambda u, o: get_car_for_manager(u, o["parked"].pk), "parked", OPERATE),
    ("car photo", lambda u, o: get_photo_for_staff(u, o["photo_id"]).car, "car", READ),
    ("invoice", lambda u, o: get_invoice_for_staff(u, o["invoice_id"]).location, "berlin", READ),
    ("invoice to run", lambda u, o: get_invoice_for_operator(u, o["invoice_id"]).location, "berlin", OPERATE),
    ("event", lambda u, o: get_event_for_staff(u, o["event_id"]).location, "berlin", READ),
    ("event to run", lambda u, o: get_event_for_operator(u, o["event_id"]).location, "berlin", OPERATE),
    ("lead to convert", lambda u, o: get_lead_for_operator(u, o["lead"].pk), "lead", OPERATE),
    (
        "document",
        lambda u, o: (
            get_document_for_staff(u, get_customer_for_staff(u, o["customer"].pk), o["document_id"]).customer
        ),
        "customer",
        READ,
    ),
    (
        "customer at home nowhere, to change",
        lambda u, o: get_customer_for_manager(u, o["homeless"].pk),
        "homeless",
        OWNERS_ONLY,
    ),
    (
        "contact of a customer at home nowhere, to change",
        lambda u, o: get_contact_for_manager(u, o["homeless_contact"].pk).customer,
        "homeless",
        OWNERS_ONLY,
    ),
]


def _answer(reader: Reader, user: StaffUser, objects: dict[str, Any]) -> object:
    try:
        return reader(user, objects)
    except Http404:
        return NOT_FOUND
    except PermissionDenied:
        return FORBIDDEN


@pytest.mark.parametrize(("name", "reader", "expected_key", "answers"), READERS, ids=[r[0] for r in READERS])
def test_each_reader_returns_404s_or_403s_per_role_and_location(cast, name, reader, expected_key, answers):
    people, objects = cast
    got = {who: _answer(reader, people[who], objects) for who in WHO}
    want = {who: objects[expected_key] if answers[who] == OK else answers[who] for who in WHO}
    assert got == want


def test_locations_to_run_are_every_one_for_owners_their_own_for_managers_none_for_employees(cast):
    people, objects = cast
    berlin = objects["berlin"]
    names = {who: [loc.name for loc in locations_for_operator(people[who])] for who in WHO}
    assert names == {
        "owner": ["Berlin", "Munich"],
        "berlin_manager": ["Berlin"],
        "berlin_employee": [],
        "munich_manager": ["Munich"],
        "all_manager": ["Berlin", "Munich"],
        "all_employee": [],
        "no_location_manager": [],
    }
    for who in WHO:
        # The list and the one-location rule never disagree.
        assert ("Berlin" in names[who]) == people[who].can_operate_location(berlin)


def test_a_page_that_makes_something_at_a_location_refuses_those_who_run_none(cast):
    people, _ = cast
    assert [loc.name for loc in get_locations_for_operator(people["berlin_manager"])] == ["Berlin"]
    for who in ("berlin_employee", "all_employee", "no_location_manager"):
        with pytest.raises(PermissionDenied):
            get_locations_for_operator(people[who])


def test_staff_locations_say_what_each_member_may_do_at_each_location(cast):
    people, _ = cast
    rows = {
        who: [(p.location.name, p.can_operate, p.can_configure) for p in staff_locations(people[who])]
        for who in WHO
    }
    assert rows == {
        "owner": [("Berlin", True, True), ("Munich", True, True)],
        "berlin_manager": [("Berlin", True, False)],
        "berlin_employee": [("Berlin", False, False)],
        "munich_manager": [("Munich", True, False)],
        "all_manager": [("Berlin", True, False), ("Munich", True, False)],
        "all_employee": [("Berlin", False, False), ("Munich", False, False)],
        "no_location_manager": [],
    }
    for who in WHO:
        for place in staff_locations(people[who]):
            assert place.can_operate == people[who].can_operate_location(place.location)


# The rule stays: views get their objects through the readers --------------------------------

VIEW_MODULES = sorted((ROOT / "keyport" / "dashboard").glob("*views.py"))


def _names_used(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.name)
    return names


def test_the_dashboard_has_view_modules_to_check():
    assert len(VIEW_MODULES) > 10


@pytest.mark.parametrize("path", VIEW_MODULES, ids=[p.name for p in VIEW_MODULES])
def test_no_dashboard_view_scopes_a_lookup_or_refuses_by_itself(path):
    """A view asks a reader (`get_booking_for_operator(user, id)`), which answers 404 or 403; it
    neither raises PermissionDenied nor passes the staff member's locations around."""
    assert _names_used(path).isdisjoint({"PermissionDenied", "locations_for_staff"})


TEMPLATES = sorted((ROOT / "templates" / "dashboard").rglob("*.html"))


@pytest.mark.parametrize("path", TEMPLATES, ids=[str(p.relative_to(ROOT)) for p in TEMPLATES])
def test_no_dashboard_template_compares_roles(path):
    """Templates get capabilities (`can_operate`, `can_manage`) from the view."""
    assert not re.search(r"\.role\b|\bis_owner\b", path.read_text())


@pytest.mark.parametrize("who", WHO)
def test_the_site_settings_links_show_exactly_to_those_who_may_open_them(client, cast, who):
    people, _ = cast
    client.force_login(people[who])
    page = client.get(reverse("dashboard:home")).content.decode()
    for name in ("email_templates", "customer_app"):
        url = reverse(f"dashboard:{name}")
        opens = client.get(url).status_code == 200
        assert (f'href="{url}"' in page) is opens is (who == "owner")

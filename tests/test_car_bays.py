"""Cars and bays: a car stands only in a bay its customer has booked (or in a free bay with a Move
in made in the same step), one car a bay; Move out asks what happens to a car still in its bay;
a car's page, Edit, the customer's page and the portal's Cars page."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from keyport.audit.models import AuditEntry
from keyport.audit.services import Actor
from keyport.bookings.models import Booking, BookingUnit
from keyport.bookings.queries import units_free_for
from keyport.cars import services as cars
from keyport.facilities.models import OpeningHours, UnitKind
from keyport.frontdesk.services import (
    CarOutcome,
    booking_create,
    booking_move_out,
    booking_transfer,
    car_to_bay,
)
from keyport.staff.models import Role
from tests.factories import (
    CarFactory,
    ContactFactory,
    CustomerFactory,
    LocationFactory,
    StaffUserFactory,
    UnitFactory,
    UnitTypeFactory,
)
from tests.portal_helpers import sign_in_as

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


@pytest.fixture
def lot(db):
    """A car-storage lot with a bay type at 120.00 a month."""
    return LocationFactory(name="Austin lot", time_zone="America/Chicago")


def bay(lot, number):
    bay_type = UnitTypeFactory(location=lot, name=f"Bay {number}", monthly_price=Decimal("120.00"))
    return UnitFactory(location=lot, number=number, kind=UnitKind.PARKING_BAY, unit_type=bay_type)


def today_at(location):
    """The location's own today (the lot is in Texas: its day is not the test machine's)."""
    return location.local_now().date()


def rent(customer, *units):
    return booking_create(
        actor=ACTOR, customer=customer, units=list(units), starts_on=today_at(units[0].location)
    )


@pytest.fixture
def karl(lot):
    """Karl Klein, whose booking holds bay P026 at the lot, and his car in no bay yet."""
    customer = CustomerFactory(name="Karl Klein", home_location=lot)
    ContactFactory(customer=customer, first_name="Karl", last_name="Klein", email="karl@example.com")
    return CarFactory(customer=customer, make="Ford", model="Mustang", plate="TX KK 26")


def nothing_changed(car, bay_before):
    car.refresh_from_db()
    assert car.bay_id == bay_before
    assert not AuditEntry.objects.filter(action__in=["car.assigned", "car.moved"]).exists()


# The rule, in the service ---------------------------------------------------------------------


def test_a_car_goes_into_a_bay_its_customer_has_booked(lot, karl):
    p026 = bay(lot, "P026")
    rent(karl.customer, p026)
    cars.car_assign(actor=ACTOR, car=karl, bay=p026)
    karl.refresh_from_db()
    assert karl.bay == p026


def test_a_car_never_stands_in_a_bay_booked_by_someone_else(lot, karl):
    p005 = bay(lot, "P005")
    rent(CustomerFactory(home_location=lot), p005)
    with pytest.raises(ValidationError) as refused:
        cars.car_assign(actor=ACTOR, car=karl, bay=p005)
    assert refused.value.message_dict["bay"] == ["Bay P005 is booked by another customer."]
    staff = StaffUserFactory(role=Role.OWNER)
    with pytest.raises(ValidationError):
        car_to_bay(staff=staff, car=karl, bay=p005)
    nothing_changed(karl, None)
    assert Booking.objects.filter(customer=karl.customer).count() == 0


def test_a_car_is_not_put_in_a_bay_nobody_booked_without_a_move_in(lot, karl):
    p001 = bay(lot, "P001")
    with pytest.raises(ValidationError) as refused:
        cars.car_assign(actor=ACTOR, car=karl, bay=p001)
    assert "not booked for Karl Klein" in refused.value.message_dict["bay"][0]
    nothing_changed(karl, None)


def test_a_free_bay_takes_the_car_with_a_move_in_at_its_rent(lot, karl):
    p001 = bay(lot, "P001")
    staff = StaffUserFactory(role=Role.MANAGER)
    staff.locations.add(lot)
    car_to_bay(staff=staff, car=karl, bay=p001, monthly_rent=Decimal("99.00"))
    karl.refresh_from_db()
    assert karl.bay == p001
    row = BookingUnit.objects.get(unit=p001)
    assert row.booking.customer == karl.customer and row.booking.starts_on == today_at(lot)
    assert row.monthly_rent == Decimal("99.00")
    assert AuditEntry.objects.filter(action="booking.moved_in", customer=karl.customer).exists()
    assert p001 not in units_free_for(lot, today_at(lot), None)  # no longer Free for booking


def test_a_bay_booked_from_a_later_day_by_someone_else_is_not_free(lot, karl):
    p002 = bay(lot, "P002")
    booking_create(
        actor=ACTOR,
        customer=CustomerFactory(home_location=lot),
        units=[p002],
        starts_on=today_at(lot) + dt.timedelta(days=10),
    )
    with pytest.raises(ValidationError) as refused:
        car_to_bay(staff=StaffUserFactory(role=Role.OWNER), car=karl, bay=p002)
    assert "booked by another customer" in str(refused.value)
    nothing_changed(karl, None)


def test_a_car_stands_in_one_bay_and_a_bay_holds_one_car(lot, karl):
    p026, p027 = bay(lot, "P026"), bay(lot, "P027")
    rent(karl.customer, p026, p027)
    cars.car_assign(actor=ACTOR, car=karl, bay=p026)
    cars.car_move(actor=ACTOR, car=karl, bay=p027)
    assert list(p026.cars.all()) == [] and list(p027.cars.all()) == [karl]
    second = CarFactory(customer=karl.customer)
    with pytest.raises(ValidationError):
        cars.car_assign(actor=ACTOR, car=second, bay=p027)
    second.refresh_from_db()
    assert second.bay is None


def test_the_database_holds_one_car_a_bay(lot, karl):
    p026 = bay(lot, "P026")
    CarFactory(customer=karl.customer, bay=p026)
    with pytest.raises(IntegrityError), transaction.atomic():
        CarFactory(customer=karl.customer, bay=p026)
    CarFactory(customer=karl.customer, bay=None)  # cars in no bay are many


# The Cars list and the car's page --------------------------------------------------------------


def selects(page):
    return dict(re.findall(r'<select[^>]*id="bay-(\d+)"[^>]*>(.*?)</select>', page, re.S))


def test_no_bay_dropdown_defaults_to_a_bay_and_the_customers_bays_come_first(lot, karl, staff_client):
    p001, p026 = bay(lot, "P001"), bay(lot, "P026")
    rent(karl.customer, p026)
    page = staff_client(Role.MANAGER, lot).get(reverse("dashboard:car_list")).content.decode()
    options = selects(page)[str(karl.pk)]
    assert re.match(r'\s*<option value="" selected>Choose a bay</option>', options)
    assert options.count("selected") == 1
    assert options.index(f'value="{p026.pk}"') < options.index(f'value="{p001.pk}"')
    assert 'optgroup label="Booked by the customer"' in options
    assert "Austin lot · P001 (Move in, 120.00" in options
    assert re.search(rf'<select[^>]*id="bay-{karl.pk}"[^>]*required', page)


def test_move_vehicle_with_no_bay_chosen_changes_nothing(lot, karl, staff_client):
    p026 = bay(lot, "P026")
    rent(karl.customer, p026)
    client = staff_client(Role.MANAGER, lot)
    response = client.post(reverse("dashboard:car_assign", args=[karl.pk]), {"bay": "", "next": "detail"})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    nothing_changed(karl, None)


def test_the_list_refuses_a_bay_booked_by_someone_else_and_changes_nothing(lot, karl, staff_client):
    p005 = bay(lot, "P005")
    other = rent(CustomerFactory(home_location=lot), p005)
    client = staff_client(Role.MANAGER, lot)
    response = client.post(reverse("dashboard:car_assign", args=[karl.pk]), {"bay": p005.pk}, follow=True)
    assert "Bay P005 is booked by another customer." in response.content.decode()
    nothing_changed(karl, None)
    assert list(Booking.objects.filter(units=p005)) == [other]


def test_the_car_page_refuses_beside_the_field(lot, karl, staff_client):
    p005 = bay(lot, "P005")
    rent(CustomerFactory(home_location=lot), p005)
    client = staff_client(Role.MANAGER, lot)
    response = client.post(
        reverse("dashboard:car_assign", args=[karl.pk]), {"bay": p005.pk, "next": "detail"}
    )
    assert response.status_code == 400
    assert 'id="id_bay-error">Bay P005 is booked by another customer.' in response.content.decode()
    nothing_changed(karl, None)


def test_the_car_page_links_its_customer_and_its_booking(lot, karl, staff_client):
    p026 = bay(lot, "P026")
    booking = rent(karl.customer, p026)
    cars.car_assign(actor=ACTOR, car=karl, bay=p026)
    page = (
        staff_client(Role.EMPLOYEE, lot).get(reverse("dashboard:car_detail", args=[karl.pk])).content.decode()
    )
    assert reverse("dashboard:customer_detail", args=[karl.customer_id]) in page
    assert reverse("dashboard:booking_detail", args=[booking.pk]) in page


def test_the_customers_page_lists_each_car_with_its_bay(lot, karl, staff_client):
    p026 = bay(lot, "P026")
    rent(karl.customer, p026)
    cars.car_assign(actor=ACTOR, car=karl, bay=p026)
    CarFactory(customer=karl.customer, make="Volvo", model="P1800", plate="TX V 1")
    page = (
        staff_client(Role.MANAGER, lot)
        .get(reverse("dashboard:customer_detail", args=[karl.customer_id]))
        .content.decode()
    )
    assert "Ford Mustang (TX KK 26)</a> · bay P026 at Austin lot" in page
    assert "Volvo P1800 (TX V 1)</a> · no bay" in page


# Edit ---------------------------------------------------------------------------------------------

GOOD_VIN = "1M8GDM9AXKP042788"


def test_edit_changes_plate_vin_colour_and_notes_and_audits(lot, karl, staff_client):
    client = staff_client(Role.MANAGER, lot)
    url = reverse("dashboard:car_edit", args=[karl.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"plate": "tx  kk 27", "vin": GOOD_VIN.lower(), "colour": "Blue ", "notes": " Cover on. "}
    )
    assert response.status_code == 302
    karl.refresh_from_db()
    assert (karl.plate, karl.vin, karl.colour, karl.notes) == ("TX KK 27", GOOD_VIN, "Blue", "Cover on.")
    entry = AuditEntry.objects.get(action="car.updated")
    assert entry.details["changed"] == ["colour", "notes", "plate", "vin"]
    assert entry.details["plate"] == {"from": "TX KK 26", "to": "TX KK 27"}


def test_edit_refuses_a_bad_vin_beside_its_field_and_changes_nothing(lot, karl, staff_client):
    client = staff_client(Role.MANAGER, lot)
    response = client.post(
        reverse("dashboard:car_edit", args=[karl.pk]),
        {"plate": "TX KK 99", "vin": "ABC", "colour": "Blue", "notes": ""},
    )
    assert response.status_code == 400
    assert "A VIN has 17 characters; this one has 3." in response.content.decode()
    karl.refresh_from_db()
    assert (karl.plate, karl.vin, karl.colour) == ("TX KK 26", "", "")
    assert not AuditEntry.objects.filter(action="car.updated").exists()


def test_employees_do_not_edit_cars(lot, karl, staff_client):
    client = staff_client(Role.EMPLOYEE, lot)
    url = reverse("dashboard:car_edit", args=[karl.pk])
    assert client.post(url, {"plate": "X", "vin": "", "colour": "", "notes": ""}).status_code == 403
    karl.refresh_from_db()
    assert karl.plate == "TX KK 26"


# Move out with a car still in the bay ---------------------------------------------------------


@pytest.fixture
def parked(lot, karl):
    p026 = bay(lot, "P026")
    booking = rent(karl.customer, p026)
    cars.car_assign(actor=ACTOR, car=karl, bay=p026)
    return booking


def test_move_out_with_a_car_in_the_bay_asks_what_happens_to_it(lot, karl, parked, staff_client):
    client = staff_client(Role.MANAGER, lot)
    page = client.get(reverse("dashboard:booking_detail", args=[parked.pk])).content.decode()
    assert "What happens to the car" in page and 'name="car_outcome"' in page
    response = client.post(
        reverse("dashboard:booking_move_out", args=[parked.pk]),
        {"on": today_at(lot).isoformat(), "access_ends": "end_of_day"},
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    parked.refresh_from_db()
    karl.refresh_from_db()
    assert parked.ends_on is None and karl.bay is not None
    assert not AuditEntry.objects.filter(action__in=["booking.moved_out", "car.left_bay"]).exists()


def test_the_service_refuses_a_move_out_that_says_nothing_of_the_car(lot, karl, parked):
    with pytest.raises(ValidationError) as refused:
        booking_move_out(actor=ACTOR, booking=parked, on=today_at(lot))
    assert "car_outcome" in refused.value.message_dict
    parked.refresh_from_db()
    assert parked.ends_on is None


def test_move_out_takes_the_car_out_of_its_bay_and_records_a_task(lot, karl, parked, staff_client):
    client = staff_client(Role.MANAGER, lot)
    response = client.post(
        reverse("dashboard:booking_move_out", args=[parked.pk]),
        {"on": today_at(lot).isoformat(), "access_ends": "now", "car_outcome": CarOutcome.STAYS},
    )
    assert response.status_code == 302
    karl.refresh_from_db()
    assert karl.bay is None
    moved_out = AuditEntry.objects.get(action="booking.moved_out")
    left = AuditEntry.objects.get(action="car.left_bay")
    assert (moved_out.target_type, left.target_type) == ("bookings.booking", "cars.car")
    assert left.details == {"from": "Austin lot P026", "because": "booking.moved_out", "booking": parked.pk}
    assert left.action_label != moved_out.action_label
    task = AuditEntry.objects.get(action="car.task").details["task"]
    assert "Move Ford Mustang (TX KK 26) out of bay P026" in task
    car_page = client.get(reverse("dashboard:car_detail", args=[karl.pk])).content.decode()
    assert "Tasks for staff" in car_page and "out of bay P026" in car_page
    overview = client.get(reverse("dashboard:home")).content.decode()
    assert "Task for staff" in overview and "out of bay P026" in overview


def test_move_out_of_a_booking_with_no_car_asks_nothing(lot, karl, staff_client):
    booking = rent(karl.customer, bay(lot, "P030"))
    client = staff_client(Role.MANAGER, lot)
    page = client.get(reverse("dashboard:booking_detail", args=[booking.pk])).content.decode()
    assert 'name="car_outcome"' not in page
    response = client.post(
        reverse("dashboard:booking_move_out", args=[booking.pk]),
        {"on": today_at(lot).isoformat(), "access_ends": "end_of_day"},
    )
    assert response.status_code == 302


# The portal ---------------------------------------------------------------------------------------


def test_the_portal_shows_each_cars_bay_and_the_sites_opening_hours(client, lot, karl, parked):
    OpeningHours.objects.create(location=lot, weekday=0, opens_at=dt.time(7), closes_at=dt.time(19))
    CarFactory(customer=karl.customer, make="Volvo", model="P1800", plate="TX V 1")
    sign_in_as(client, karl.customer.contacts.get())
    page = client.get(reverse("portal:cars")).content.decode()
    assert "Kept in bay <strong>P026</strong> at Austin lot" in page
    assert "Opening hours of Austin lot" in page and "Monday 07:00–19:00" in page
    assert "This car is not in a bay at the moment. Ask Austin lot to place it in one of your bays" in page


def test_a_bay_that_holds_a_car_is_not_offered(lot, karl, staff_client):
    p026, p027 = bay(lot, "P026"), bay(lot, "P027")
    rent(karl.customer, p026, p027)
    cars.car_assign(actor=ACTOR, car=karl, bay=p026)
    page = staff_client(Role.MANAGER, lot).get(reverse("dashboard:car_list")).content.decode()
    options = selects(page)[str(karl.pk)]
    assert f'value="{p027.pk}"' in options and f'value="{p026.pk}"' not in options


def test_a_transfer_today_takes_the_car_to_the_new_bay(lot, karl, parked):
    p026 = karl.customer.bookings.get().units.get()
    p040 = bay(lot, "P040")
    booking_transfer(actor=ACTOR, booking=parked, from_unit=p026, to_unit=p040)
    karl.refresh_from_db()
    assert karl.bay == p040
    assert AuditEntry.objects.get(action="car.moved").details == {
        "from": "Austin lot P026",
        "to": "Austin lot P040",
    }

"""Cars in Chromium: Move Vehicle from the Cars list into a bay the car's customer has booked,
and the car's page refusing a bay another customer booked meanwhile. Both pages are clean under
axe-core.

With KEYPORT_SCREENSHOTS=1 the pictures go to docs/screenshots/."""

import pytest
from playwright.sync_api import expect

from keyport.audit.services import Actor
from keyport.cars.models import Car
from keyport.cars.queries import free_bays
from keyport.contacts.models import Customer
from keyport.demo.data import AUSTIN, OWNER_EMAIL
from keyport.facilities.models import Location
from keyport.frontdesk.services import booking_create
from keyport.staff.models import StaffUser
from tests.browser.test_accessibility import audit, demo, folder, portal_page, staff_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SYSTEM = Actor.system("tests")


def test_move_vehicle_into_the_customers_booked_bay_and_not_into_someone_elses(
    live_server,
    browser,
    demo,  # noqa: F811
    audit,  # noqa: F811
    folder,  # noqa: F811
):
    base = live_server.url
    austin = Location.objects.get(name=AUSTIN)
    today = austin.local_now().date()
    parked = Car.objects.filter(bay__location=austin, customer__contacts__can_access_portal=True)
    car = parked.select_related("customer", "bay").order_by("plate").first()
    assert car is not None
    booked, taken = list(free_bays(Location.objects.filter(pk=austin.pk))[:2])
    booking_create(actor=SYSTEM, customer=car.customer, units=[booked], starts_on=today)

    page = staff_page(browser, base, StaffUser.objects.get(email=OWNER_EMAIL))
    page.goto(f"{base}/dashboard/cars/")
    expect(page.get_by_role("heading", name="Cars")).to_be_visible()
    audit.check(page, "Cars")
    page.screenshot(path=str(folder / "dashboard-cars.png"))

    page.get_by_role("searchbox", name="Search plate or customer").fill(car.plate)
    page.get_by_role("button", name="Search").click()
    choice = page.get_by_label(f"Bay for {car.plate}")
    expect(choice).to_have_value("")  # staff choose: no bay is chosen for them
    choice.select_option(label=f"{AUSTIN} · {booked.number}")
    page.get_by_role("button", name="Move Vehicle").click()
    expect(page.get_by_text(f"{car} is now in bay {booked.number}.")).to_be_visible()
    car.refresh_from_db()
    assert car.bay == booked

    page.goto(f"{base}/dashboard/cars/{car.pk}/")
    page.get_by_label("Bay", exact=True).select_option(value=str(taken.pk))
    someone_else = Customer.objects.filter(home_location=austin).exclude(pk=car.customer_id).first()
    assert someone_else is not None
    booking_create(actor=SYSTEM, customer=someone_else, units=[taken], starts_on=today)  # meanwhile
    page.get_by_role("button", name="Move Vehicle").click()
    expect(page.locator("#id_bay-error")).to_have_text(f"Bay {taken.number} is booked by another customer.")
    car.refresh_from_db()
    assert car.bay == booked
    assert not Car.objects.filter(bay=taken).exists()
    audit.check(page, "Car page with a refused bay")

    page.goto(f"{base}/dashboard/cars/{car.pk}/")
    expect(page.get_by_role("link", name=car.customer.name)).to_be_visible()
    audit.check(page, "Car page")
    page.screenshot(path=str(folder / "dashboard-car.png"), full_page=True)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name=f"Edit {car.make} {car.model}")).to_be_visible()
    page.get_by_label("Colour").fill("Midnight blue")
    audit.check(page, "Edit a car")
    page.screenshot(path=str(folder / "dashboard-car-edit.png"))
    page.get_by_role("button", name="Save car").click()
    expect(page.get_by_text("Car saved.")).to_be_visible()
    car.refresh_from_db()
    assert car.colour == "Midnight blue"

    phone = portal_page(browser, base, car.customer.contacts.filter(can_access_portal=True).first())
    phone.goto(f"{base}/portal/cars/")
    expect(phone.get_by_text(f"Kept in bay {booked.number} at {AUSTIN}").first).to_be_visible()
    expect(phone.get_by_text(f"Opening hours of {AUSTIN}").first).to_be_visible()
    audit.check(phone, "Portal cars")
    phone.screenshot(path=str(folder / "portal-cars.png"), full_page=True)
    audit.assert_clean()
